import type { Redis } from 'ioredis';

/**
 * Totals kept in Redis and shared by every process, for work that leaves no row in PostgreSQL to
 * count (the replies to signups): workers add, /metrics reads. They restart from zero with Redis.
 */
export function createCounters(redis: Redis, prefix: string) {
  const key = `${prefix}:counters`;
  return {
    async add(name: string, n: number): Promise<void> {
      if (n > 0) await redis.hincrby(key, name, n);
    },
    async read(): Promise<Record<string, number>> {
      const all = await redis.hgetall(key);
      return Object.fromEntries(Object.entries(all).map(([k, v]) => [k, Number(v)]));
    },
  };
}

export type Counters = ReturnType<typeof createCounters>;
