import { describe, expect, it } from 'vitest';
import { forEachConcurrently } from './each.ts';

describe('forEachConcurrently', () => {
  it('handles every item once, never more than the limit at a time', async () => {
    const seen: number[] = [];
    let running = 0;
    let most = 0;
    await forEachConcurrently([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 5 + (n % 3)));
      seen.push(n);
      running--;
    });
    expect(seen.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(most).toBe(3);
  });

  it('does nothing for no items', async () => {
    await forEachConcurrently([], 4, async () => {
      throw new Error('called');
    });
  });
});
