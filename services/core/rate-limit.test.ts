import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRateLimiter, type RateLimiter, type Rule } from './rate-limit.ts';

describe('rate limiter (real Redis)', () => {
  let redis: Redis;
  let limiter: RateLimiter;
  const prefix = `test_rl_${randomUUID().slice(0, 8)}`;
  const rules: Rule[] = [
    { scope: 'net', limit: { max: 3, windowSeconds: 600 }, message: 'network' },
    { scope: 'addr', limit: { max: 1, windowSeconds: 60 }, message: 'address' },
  ];
  const outcome = (answers: Awaited<ReturnType<RateLimiter['hitEach']>>) =>
    answers.map((a) => (a ? `${a.message} ${a.retryAfter}s` : 'ok'));

  beforeAll(() => {
    redis = new Redis(inject('redisUrl'));
    limiter = createRateLimiter(redis, prefix);
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('counts the requests of a batch in turn, each against every rule in order', async () => {
    const answers = await limiter.hitEach(rules, [
      ['10.0.0.1', 'a@example.org'],
      ['10.0.0.1', 'a@example.org'], // the address's second: past its limit of 1
      ['10.0.0.1', 'b@example.org'], // the network's third: still allowed
      ['10.0.0.1', 'c@example.org'], // the network's fourth: past its limit; c is not counted
      ['10.0.0.2', 'd@example.org'],
    ]);
    expect(outcome(answers)).toEqual(['ok', 'address 60s', 'ok', 'network 600s', 'ok']);

    // c was not counted, so its first signup from another network is allowed; b's second is not.
    const next = await limiter.hitEach(rules, [
      ['10.0.0.3', 'c@example.org'],
      ['10.0.0.3', 'b@example.org'],
    ]);
    expect(outcome(next)).toEqual(['ok', 'address 60s']);
  });

  it('answers with the time left in the window that stopped the request', async () => {
    await limiter.hitEach(rules, [['10.0.1.1', 'e@example.org']]);
    // The keys are hashed: give every address key (the earlier test's too) 5.5 s left.
    for (const k of await redis.keys(`${prefix}:ratelimit:addr:*`)) await redis.pexpire(k, 5_500);
    const [answer] = await limiter.hitEach(rules, [['10.0.1.2', 'e@example.org']]);
    expect(answer?.retryAfter).toBe(6);
  });

  it('keeps no address or network in the clear, and lets keys expire with their window', async () => {
    await limiter.hitEach(rules, [['192.0.2.7', 'private.reader@example.org']]);
    const keys = await redis.keys(`${prefix}:*`);
    expect(keys.some((k) => k.includes('private.reader') || k.includes('192.0.2.7'))).toBe(false);
    for (const k of keys) expect(await redis.pttl(k)).toBeGreaterThan(0);
  });

  it('refuses a request whose keys do not match the rules, before counting anything', async () => {
    await expect(limiter.hitEach(rules, [['10.0.2.1', 'f@example.org'], ['10.0.2.1']])).rejects.toThrow(/2 rules/);
    expect(outcome(await limiter.hitEach(rules, [['10.0.2.1', 'f@example.org']]))).toEqual(['ok']);
  });

  it('answers an empty batch without a round trip', async () => {
    expect(await limiter.hitEach(rules, [])).toEqual([]);
  });

  it('tells, without counting, when a key has taken every hit its window allows', async () => {
    const failures: Rule = { scope: 'failures', limit: { max: 2, windowSeconds: 900 }, message: 'spent' };
    expect(await limiter.spent(failures, '10.0.3.1')).toBeUndefined();
    await limiter.hitEach([failures], [['10.0.3.1']]);
    expect(await limiter.spent(failures, '10.0.3.1')).toBeUndefined();
    expect(await limiter.spent(failures, '10.0.3.1')).toBeUndefined(); // looking counts nothing
    await limiter.hitEach([failures], [['10.0.3.1']]);
    const spent = await limiter.spent(failures, '10.0.3.1');
    expect(spent && `${spent.message} ${spent.retryAfter}s`).toBe('spent 900s');
    // The third hit is the one hitEach refuses, with the same window.
    expect(outcome(await limiter.hitEach([failures], [['10.0.3.1']]))).toEqual(['spent 900s']);
    expect(await limiter.spent(failures, '10.0.3.2')).toBeUndefined();
  });
});
