import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createProgress, formatElapsed, type ProgressState, progressBar, progressLine } from './progress.ts';

const run: ProgressState = {
  label: 'digest run',
  done: 1200,
  total: 2000,
  unit: 'due',
  counts: [
    ['sent', 1180],
    ['skipped', 0],
    ['deferred', 3],
  ],
  elapsedMs: 12_400,
};

describe('progress line', () => {
  it('draws a bar with the counts, leaving out zeros', () => {
    expect(progressLine(run, { bar: true })).toBe(
      'digest run  [#######·····]  1,200/2,000 due · 1,180 sent · 3 deferred · 12 s',
    );
  });

  it('is a plain line for logs', () => {
    expect(progressLine(run)).toBe('digest run: 1,200/2,000 due · 1,180 sent · 3 deferred · 12 s');
  });

  it('fills the bar when done, and when nothing was due at all', () => {
    expect(progressBar({ done: 2000, total: 2000, elapsedMs: 0 })).toBe('[############]');
    expect(progressLine({ ...run, done: 0, total: 0, counts: [] }, { bar: true })).toBe(
      'digest run  [############]  0/0 due · 12 s',
    );
  });

  it('never shows more done than in all, when more turned up than were counted', () => {
    expect(progressLine({ ...run, done: 2100 })).toMatch(/^digest run: 2,100\/2,100 due/);
  });

  it('moves a block back and forth when there is no total', () => {
    const at = (elapsedMs: number) => progressBar({ done: 5, elapsedMs }, 6);
    expect([0, 100, 200, 300, 400, 500, 600].map(at)).toEqual([
      '[###···]',
      '[·###··]',
      '[··###·]',
      '[···###]',
      '[··###·]',
      '[·###··]',
      '[###···]',
    ]);
    expect(progressLine({ ...run, total: undefined }, { bar: true })).toMatch(
      /^digest run {2}\[[·#]{12}\] {2}1,200 due · /,
    );
  });

  it('shows a phase instead of the counts, with a moving block', () => {
    expect(progressLine({ ...run, phase: 'opening the database and queues' })).toBe(
      'digest run: opening the database and queues · 12 s',
    );
    expect(progressLine({ ...run, phase: 'migrating', elapsedMs: 0 }, { bar: true })).toBe(
      'digest run  [###·········]  migrating · 0 s',
    );
  });

  it('cuts a line to the terminal width, since a wrapped line cannot be redrawn', () => {
    const line = progressLine(run, { bar: true, columns: 40 });
    expect(line).toHaveLength(39);
    expect(line.endsWith('…')).toBe(true);
  });

  it('reads elapsed time in seconds, minutes and hours', () => {
    expect(formatElapsed(999)).toBe('0 s');
    expect(formatElapsed(59_999)).toBe('59 s');
    expect(formatElapsed(65_000)).toBe('1 min 05 s');
    expect(formatElapsed(3_725_000)).toBe('1 h 02 min');
  });
});

describe('progress on a stream', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const stream = (isTTY: boolean) => {
    const written: string[] = [];
    return { written, isTTY, columns: 80, write: (c: string) => written.push(c) };
  };

  it('prints plain lines at most every few seconds, and one at the end', () => {
    const out = stream(false);
    const p = createProgress('ingest', { stream: out, plainEveryMs: 5000 });
    for (let i = 1; i <= 120; i++) {
      p.update({ phase: undefined, done: i, total: 120, unit: 'entries' });
      vi.advanceTimersByTime(100);
    }
    p.end();
    p.end();
    expect(out.written).toEqual([
      'ingest: 50/120 entries · 5 s\n',
      'ingest: 100/120 entries · 10 s\n',
      'ingest: 120/120 entries · 12 s\n',
    ]);
  });

  it('redraws one line in place on a terminal and ends it with a newline', () => {
    const out = stream(true);
    const p = createProgress('seed', { stream: out, tty: true });
    p.update({ phase: undefined, done: 1, total: 4, unit: 'entries' });
    vi.advanceTimersByTime(100);
    p.update({ done: 4 });
    p.end();
    expect(out.written).toEqual([
      '\r\x1b[2Kseed  [###·········]  1/4 entries · 0 s',
      '\r\x1b[2Kseed  [############]  4/4 entries · 0 s\n',
    ]);
  });
});
