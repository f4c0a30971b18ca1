import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { TooManyRequests } from './errors.ts';

// For each request in turn (a group of keys), counts a hit on each of its keys, starting a key's
// window on its first hit, and stops that request at its first key past its limit. Answers two
// numbers per request: that key's position in the request (1-based) and the time left in its
// window, or 0, 0. One round trip for a whole batch of requests; ioredis sends it by SHA.
// ARGV: the number of requests, each one's number of keys, then window (ms) and limit per key.
const HITS = `
local requests = tonumber(ARGV[1])
local base = requests + 1
local out = {}
local k = 0
for r = 1, requests do
  local size = tonumber(ARGV[1 + r])
  local over, ttl = 0, 0
  for i = 1, size do
    local key = k + i
    if over == 0 then
      local n = redis.call('INCR', KEYS[key])
      if n == 1 then redis.call('PEXPIRE', KEYS[key], ARGV[base + 2 * key - 1]) end
      if n > tonumber(ARGV[base + 2 * key]) then
        over = i
        ttl = redis.call('PTTL', KEYS[key])
      end
    end
  end
  k = k + size
  out[#out + 1] = over
  out[#out + 1] = ttl
end
return out`;

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

type WithHits = Redis & { paperboyHits(...args: (string | number)[]): Promise<number[]> };

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
     * Counts each request's hits, in order, against its checks (one list of checks per request);
     * answers, per request, the TooManyRequests for its first check past its limit (its later
     * checks are then not counted), or undefined.
     */
    async hitEach(requests: Check[][]): Promise<Array<TooManyRequests | undefined>> {
      if (requests.length === 0) return [];
      const all = requests.flat();
      const answer = await r.paperboyHits(
        all.length,
        ...all.map((c) => keyOf(c.scope, c.key)),
        requests.length,
        ...requests.map((checks) => checks.length),
        ...all.flatMap((c) => [c.limit.windowSeconds * 1000, c.limit.max]),
      );
      return requests.map((checks, i) => {
        const over = checks[(answer[2 * i] ?? 0) - 1];
        const ttl = answer[2 * i + 1] ?? 0;
        return over && new TooManyRequests(over.message, Math.max(1, Math.ceil(ttl / 1000)));
      });
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
