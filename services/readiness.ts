import type { Services } from './compose.ts';

export type Reachability = 'ok' | 'unreachable';

export const within = <T>(ms: number, p: Promise<T>): Promise<T | 'timeout'> =>
  Promise.race([p, new Promise<'timeout'>((r) => setTimeout(r, ms, 'timeout').unref())]);

/**
 * PINGs Redis on the producer connection. That connection refuses commands until it is connected
 * (no offline queue): a process that has just started waits for it rather than reporting Redis
 * unreachable.
 */
export async function pingRedis(redis: Services['queues']['redis']): Promise<unknown> {
  while (redis.status === 'connecting' || redis.status === 'wait' || redis.status === 'connect') {
    await new Promise((r) => setTimeout(r, 50));
  }
  return redis.ping();
}

/**
 * Whether the servers Paperboy needs answer within `timeoutMs` each: PostgreSQL, Redis and the
 * SMTP server. `/readyz` reports it over HTTP; `paperboy check` for processes without one
 * (the worker's and scheduler's container health checks).
 */
export async function readiness(s: Pick<Services, 'db' | 'queues' | 'mailer'>, timeoutMs = 2000) {
  const check = async (probe: () => Promise<unknown>): Promise<Reachability> => {
    try {
      const r = await within(timeoutMs, probe());
      return r === 'timeout' || r === false ? 'unreachable' : 'ok';
    } catch {
      return 'unreachable';
    }
  };
  const checks = {
    postgres: await check(() => s.db.query('SELECT 1')),
    redis: await check(() => pingRedis(s.queues.redis)),
    smtp: await check(() => s.mailer.verify()),
  };
  return { ready: Object.values(checks).every((c) => c === 'ok'), checks };
}
