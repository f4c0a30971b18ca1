import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { TooManyRequests } from './errors.ts';

// Counts a hit on each key in turn, starting its window on the first hit, and stops at the first
// key past its limit: returns that key's position (1-based) and the time left in its window, or
// {0, 0}. One round trip for every limit a request is subject to; ioredis sends it by SHA.
const HITS = `
for i = 1, #KEYS do
  local n = redis.call('INCR', KEYS[i])
  if n == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[2 * i - 1]) end
  if n > tonumber(ARGV[2 * i]) then return {i, redis.call('PTTL', KEYS[i])} end
end
return {0, 0}`;

export interface Limit {
  /** Hits allowed per window. */
  max: number;
  windowSeconds: number;
}

export interface Check {
  scope: string;
  key: string;
  limit: Limit;
  /** What a client past this limit is told. */
  message: string;
}

type WithHits = Redis & { paperboyHits(...args: (string | number)[]): Promise<[number, number]> };

/**
 * Fixed-window counters in Redis, shared by every api process. Keys are hashed, so Redis never
 * holds an address or an IP in the clear, and expire with their window.
 */
export function createRateLimiter(redis: Redis, prefix: string) {
  const r = redis as WithHits;
  if (typeof r.paperboyHits !== 'function') redis.defineCommand('paperboyHits', { lua: HITS });
  const keyOf = (scope: string, key: string) =>
    `${prefix}:ratelimit:${scope}:${createHash('sha256').update(key).digest('base64url').slice(0, 22)}`;
  return {
    /**
     * Counts one hit against each check, in order; throws TooManyRequests for the first one past
     * its limit (later checks are then not counted).
     */
    async hit(...checks: Check[]): Promise<void> {
      const [over, ttl] = await r.paperboyHits(
        checks.length,
        ...checks.map((c) => keyOf(c.scope, c.key)),
        ...checks.flatMap((c) => [c.limit.windowSeconds * 1000, c.limit.max]),
      );
      const check = checks[over - 1];
      if (check) throw new TooManyRequests(check.message, Math.max(1, Math.ceil(ttl / 1000)));
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
