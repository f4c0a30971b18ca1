import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { TooManyRequests } from './errors.ts';

// Count a hit and start the window on the first one, atomically.
const HIT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}`;

export interface Limit {
  /** Hits allowed per window. */
  max: number;
  windowSeconds: number;
}

/**
 * Fixed-window counters in Redis, shared by every api process. Keys are hashed, so Redis never
 * holds an address or an IP in the clear, and expire with their window.
 */
export function createRateLimiter(redis: Redis, prefix: string) {
  return {
    /** Counts one hit on `key`; throws TooManyRequests past the limit. */
    async hit(scope: string, key: string, limit: Limit, message: string): Promise<void> {
      const digest = createHash('sha256').update(key).digest('base64url').slice(0, 22);
      const [count, ttl] = (await redis.eval(
        HIT,
        1,
        `${prefix}:ratelimit:${scope}:${digest}`,
        limit.windowSeconds * 1000,
      )) as [number, number];
      if (count > limit.max) throw new TooManyRequests(message, Math.max(1, Math.ceil(ttl / 1000)));
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
