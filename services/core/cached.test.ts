import { describe, expect, it } from 'vitest';
import { cachedFor } from './cached.ts';

describe('cachedFor', () => {
  it('shares one call among callers, in flight and after', async () => {
    let calls = 0;
    const get = cachedFor(60_000, async () => ++calls);
    expect(await Promise.all([get(), get(), get()])).toEqual([1, 1, 1]);
    expect(await get()).toBe(1);
    expect(calls).toBe(1);
  });

  it('keeps no failure: the next caller tries again', async () => {
    let calls = 0;
    const get = cachedFor(60_000, async () => {
      calls++;
      if (calls === 1) throw new Error('down');
      return calls;
    });
    await expect(get()).rejects.toThrow('down');
    expect(await get()).toBe(2);
  });

  it('calls again once its time is up', async () => {
    let calls = 0;
    const get = cachedFor(0, async () => ++calls);
    await get();
    await get();
    expect(calls).toBe(2);
  });
});
