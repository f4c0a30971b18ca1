import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './support/harness.ts';

/** paperboy_next_send_at: the instant of a subscriber's next digest, in their own time zone. */
describe('next send time', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => h?.close());

  const next = async (after: string, tz: string, hour: number, frequency = 'daily', weekday = 1) =>
    (
      await h.services.db.query<{ t: Date }>('SELECT paperboy_next_send_at($1, $2, $3, $4, $5) AS t', [
        after,
        tz,
        hour,
        frequency,
        weekday,
      ])
    ).rows[0]?.t.toISOString();

  it('is the chosen local hour today when still ahead, else tomorrow', async () => {
    expect(await next('2026-06-01T05:00:00Z', 'UTC', 8)).toBe('2026-06-01T08:00:00.000Z');
    expect(await next('2026-06-01T08:00:00Z', 'UTC', 8)).toBe('2026-06-02T08:00:00.000Z');
    expect(await next('2026-06-01T05:00:00Z', 'Europe/Berlin', 8)).toBe('2026-06-01T06:00:00.000Z');
    expect(await next('2026-06-01T05:00:00Z', 'America/New_York', 8)).toBe('2026-06-01T12:00:00.000Z');
    // Tokyo is already on 2 June at 23:30 UTC on 1 June.
    expect(await next('2026-06-01T23:30:00Z', 'Asia/Tokyo', 9)).toBe('2026-06-02T00:00:00.000Z');
  });

  it('follows the offset across daylight-saving changes', async () => {
    expect(await next('2026-03-28T12:00:00Z', 'Europe/Berlin', 8)).toBe('2026-03-29T06:00:00.000Z');
    expect(await next('2026-10-24T12:00:00Z', 'Europe/Berlin', 8)).toBe('2026-10-25T07:00:00.000Z');
  });

  it('gives one digest on the day 02:30 does not exist and one on the day 01:30 happens twice', async () => {
    // Walk a subscriber through March and October in New York at 02:00 and 01:00 local time.
    for (const [start, end, hour] of [
      ['2026-03-05T00:00:00Z', '2026-03-12T00:00:00Z', 2],
      ['2026-10-29T00:00:00Z', '2026-11-05T00:00:00Z', 1],
    ] as const) {
      const days: string[] = [];
      let t = start as string;
      for (;;) {
        t = (await next(t, 'America/New_York', hour)) as string;
        if (t >= end) break;
        days.push(new Date(t).toLocaleDateString('en-CA', { timeZone: 'America/New_York' }));
      }
      expect(days).toHaveLength(7);
      expect(new Set(days).size).toBe(7);
    }
  });

  it('is the chosen weekday for weekly digests', async () => {
    // 2026-06-01 is a Monday; weekday 3 = Wednesday.
    expect(await next('2026-06-01T12:00:00Z', 'UTC', 8, 'weekly', 3)).toBe('2026-06-03T08:00:00.000Z');
    expect(await next('2026-06-03T08:00:00Z', 'UTC', 8, 'weekly', 3)).toBe('2026-06-10T08:00:00.000Z');
    expect(await next('2026-06-01T07:00:00Z', 'UTC', 8, 'weekly', 1)).toBe('2026-06-01T08:00:00.000Z');
  });
});
