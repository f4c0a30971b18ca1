import { hash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { TooManyRequests } from './errors.ts';

// For each request in turn, counts a hit on each of its keys against the rules in order (a key's
// window starts at its first hit) and stops that request at its first key past its rule's limit.
// KEYS: every request's keys, rule by rule (request 1's, then request 2's, ...). ARGV: the number
// of rules, then each rule's window (ms) and limit. Answers two numbers per request: the 1-based
// rule that stopped it and the time left in that key's window, or 0, 0. One round trip for a whole
// batch of requests; ioredis sends it by SHA.
const HITS = `
local rules = tonumber(ARGV[1])
local window, limit = {}, {}
for i = 1, rules do
  window[i] = ARGV[2 * i]
  limit[i] = tonumber(ARGV[2 * i + 1])
end
local out = {}
for first = 0, #KEYS - 1, rules do
  local over, ttl = 0, 0
  for i = 1, rules do
    local key = KEYS[first + i]
    local n = redis.call('INCR', key)
    if n == 1 then redis.call('PEXPIRE', key, window[i]) end
    if n > limit[i] then
      over, ttl = i, redis.call('PTTL', key)
      break
    end
  end
  out[#out + 1] = over
  out[#out + 1] = ttl
end
return out`;

export interface Limit {
  /** Hits allowed per window. */
  max: number;
  windowSeconds: number;
}

/** One limit every request of a batch is checked against, with its own key per request. */
export interface Rule {
  scope: string;
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
    `${prefix}:ratelimit:${scope}:${hash('sha256', key, 'base64url').slice(0, 22)}`;
  return {
    /**
     * Counts each request's hits, in order, against the rules: `keys[i][j]` is request i's key for
     * rule j. Answers, per request, the TooManyRequests for its first rule past its limit (its
     * later rules are then not counted), or undefined.
     */
    async hitEach(
      rules: readonly Rule[],
      keys: readonly (readonly string[])[],
    ): Promise<Array<TooManyRequests | undefined>> {
      if (keys.length === 0) return [];
      const args: (string | number)[] = [keys.length * rules.length];
      for (const request of keys) {
        if (request.length !== rules.length)
          throw new Error(`a request has ${request.length} keys for ${rules.length} rules`);
        for (const [j, rule] of rules.entries()) args.push(keyOf(rule.scope, request[j] as string));
      }
      args.push(rules.length);
      for (const { limit } of rules) args.push(limit.windowSeconds * 1000, limit.max);
      const answer = await r.paperboyHits(...args);
      return keys.map((_, i) => {
        const over = rules[(answer[2 * i] ?? 0) - 1];
        const ttl = answer[2 * i + 1] ?? 0;
        return over && new TooManyRequests(over.message, Math.max(1, Math.ceil(ttl / 1000)));
      });
    },

    /**
     * Without counting a hit: the TooManyRequests for a key whose window has already taken all
     * `rule.limit.max` hits it allows (the next hit would be refused), or undefined. For checks
     * where only failures count, such as logins: once the failures are spent, a success must be
     * refused too, or the answer would tell a guess that is right from one that is wrong.
     */
    async spent(rule: Rule, key: string): Promise<TooManyRequests | undefined> {
      const k = keyOf(rule.scope, key);
      const [hits, ttl] = await Promise.all([redis.get(k), redis.pttl(k)]);
      return Number(hits ?? 0) >= rule.limit.max && ttl > 0
        ? new TooManyRequests(rule.message, Math.max(1, Math.ceil(ttl / 1000)))
        : undefined;
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
