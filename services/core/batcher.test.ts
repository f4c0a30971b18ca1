import { describe, expect, it } from 'vitest';
import { createBatcher } from './batcher.ts';

const settle = <T>(p: Promise<T>) =>
  p.then(
    (value) => ({ value }),
    (error: Error) => ({ error: error.message }),
  );

describe('batcher', () => {
  it('runs what was submitted in the same turn of the event loop as one batch', async () => {
    const batches: number[][] = [];
    const b = createBatcher(async (items: number[]) => {
      batches.push(items);
      return items.map((n) => n * 10);
    });
    const first = await Promise.all([1, 2, 3].map((n) => b.submit(n)));
    const second = await b.submit(4);
    expect(first).toEqual([10, 20, 30]);
    expect(second).toBe(40);
    expect(batches).toEqual([[1, 2, 3], [4]]);
  });

  it('splits at the batch size and keeps the order of submission', async () => {
    const batches: number[][] = [];
    const b = createBatcher(
      async (items: number[]) => {
        batches.push(items);
        return items;
      },
      { maxSize: 4, maxConcurrent: 8 },
    );
    const all = Array.from({ length: 10 }, (_, i) => i);
    expect(await Promise.all(all.map((n) => b.submit(n)))).toEqual(all);
    expect(batches).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
  });

  it('runs at most maxConcurrent batches at once; what arrives meanwhile waits and goes together', async () => {
    let running = 0;
    let most = 0;
    const batches: number[][] = [];
    const b = createBatcher(
      async (items: number[]) => {
        running++;
        most = Math.max(most, running);
        batches.push(items);
        await new Promise((r) => setTimeout(r, 20));
        running--;
        return items;
      },
      { maxSize: 100, maxConcurrent: 1 },
    );
    const early = b.submit(0);
    await new Promise((r) => setImmediate(r)); // the first batch is now running
    const late = [1, 2, 3].map((n) => b.submit(n));
    await Promise.all([early, ...late]);
    expect(most).toBe(1);
    expect(batches).toEqual([[0], [1, 2, 3]]);
  });

  it('fails only the items the run answered with an error', async () => {
    const b = createBatcher(async (items: number[]) => items.map((n) => (n % 2 ? new Error(`odd ${n}`) : n)));
    const results = await Promise.all([1, 2, 3, 4].map((n) => settle(b.submit(n))));
    expect(results).toEqual([{ error: 'odd 1' }, { value: 2 }, { error: 'odd 3' }, { value: 4 }]);
  });

  it('fails every item of a run that throws, and the next batch runs as usual', async () => {
    let fail = true;
    const b = createBatcher(async (items: number[]) => {
      if (fail) throw new Error('database unavailable');
      return items;
    });
    const failed = await Promise.all([1, 2].map((n) => settle(b.submit(n))));
    expect(failed).toEqual([{ error: 'database unavailable' }, { error: 'database unavailable' }]);
    fail = false;
    expect(await b.submit(3)).toBe(3);
  });

  it('fails every item when the run answers for the wrong number of items', async () => {
    const b = createBatcher(async (items: number[]) => items.slice(1));
    const results = await Promise.all([1, 2].map((n) => settle(b.submit(n))));
    expect(results.every((r) => 'error' in r && /answered 1 of 2/.test(r.error))).toBe(true);
  });

  it('with startWhenIdle, starts at once when nothing is in flight and gathers what arrives meanwhile', async () => {
    const batches: number[][] = [];
    let release: () => void = () => {};
    const b = createBatcher(
      async (items: number[]) => {
        batches.push(items);
        if (items[0] === 0) await new Promise<void>((r) => (release = r));
        return items;
      },
      { maxSize: Number.POSITIVE_INFINITY, maxConcurrent: 1, startWhenIdle: true },
    );
    // What the first caller sees when it gets its answer.
    const first = b.submit(0).then((n) => ({ n, started: batches.map((x) => [...x]) }));
    expect(batches).toEqual([[0]]); // started within submit, before the turn ended
    const rest = [1, 2, 3].map((n) => b.submit(n));
    expect(batches).toEqual([[0]]); // one run in flight: the others wait
    release();
    expect(await Promise.all(rest)).toEqual([1, 2, 3]);
    // The waiting items' run had started before the first caller went on.
    expect(await first).toEqual({ n: 0, started: [[0], [1, 2, 3]] });
    await b.submit(4);
    expect(batches.at(-1)).toEqual([4]);
  });
});
