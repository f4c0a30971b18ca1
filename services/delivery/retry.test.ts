import { describe, expect, it } from 'vitest';
import { retryDelayMs } from './retry.ts';

describe('retry delay', () => {
  const policy = { baseSeconds: 30, factor: 4, maxSeconds: 3600 };
  const mid = () => 0.5;

  it('grows by the factor from the base and stops at the limit', () => {
    expect([1, 2, 3, 4, 5].map((a) => retryDelayMs(policy, a, mid))).toEqual([
      30_000, 120_000, 480_000, 1_920_000, 3_600_000,
    ]);
  });

  it('jitters within ±20%', () => {
    expect(retryDelayMs(policy, 1, () => 0)).toBe(24_000);
    expect(retryDelayMs(policy, 1, () => 1)).toBe(36_000);
  });
});
