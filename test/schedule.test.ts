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

/**
 * The schedule functions compute their answer directly (migration 009). Their first definitions
 * listed every candidate day and took the earliest (latest) instant after (before) the given one:
 * slow, but plainly right. Both must agree everywhere, above all across daylight-saving changes
 * and in zones with odd offsets.
 */
describe('schedule functions agree with the candidate-day definitions', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => h?.close());

  it('on 20,000 random instants, zones, hours, frequencies and weekdays', async () => {
    const c = await h.services.db.pool.connect();
    try {
      await c.query(`CREATE FUNCTION pg_temp.candidates_next(after timestamptz, tz text, send_hour integer, frequency text, weekday integer)
        RETURNS timestamptz LANGUAGE sql STABLE STRICT AS $$
          SELECT min(due) FROM (
            SELECT (day + make_interval(hours => send_hour)) AT TIME ZONE tz AS due
              FROM generate_series((after AT TIME ZONE tz)::date::timestamp,
                                   ((after AT TIME ZONE tz)::date + CASE WHEN frequency = 'daily' THEN 1 ELSE 7 END)::timestamp,
                                   interval '1 day') AS day
             WHERE frequency = 'daily' OR extract(isodow FROM day) = weekday) c
           WHERE due > after $$`);
      await c.query(`CREATE FUNCTION pg_temp.candidates_last(at timestamptz, tz text, send_hour integer, frequency text, weekday integer)
        RETURNS timestamptz LANGUAGE sql STABLE STRICT AS $$
          SELECT max(due) FROM (
            SELECT (day + make_interval(hours => send_hour)) AT TIME ZONE tz AS due
              FROM generate_series(((at AT TIME ZONE tz)::date - CASE WHEN frequency = 'daily' THEN 1 ELSE 7 END)::timestamp,
                                   (at AT TIME ZONE tz)::date::timestamp, interval '1 day') AS day
             WHERE frequency = 'daily' OR extract(isodow FROM day) = weekday) c
           WHERE due <= at $$`);
      await c.query('SELECT setseed(0.42)');
      // Instants over two years, a third of them on or next to a daylight-saving change day, and a
      // third of all on the hour (where "after" and "at or before" differ).
      const { rows } = await c.query<{
        checked: number;
        next_differs: number;
        last_differs: number;
        example: string | null;
      }>(
        `WITH drawn AS MATERIALIZED (
           SELECT CASE WHEN random() < 0.33
                       THEN (ARRAY['2026-03-08', '2026-03-29', '2026-04-05', '2026-09-27', '2026-10-04', '2026-10-25', '2026-11-01']::date[])[1 + floor(random() * 7)::int]
                            + (random() * 3 - 1) * interval '1 day'
                       ELSE timestamptz '2026-01-01' + random() * interval '730 days' END AS t,
                  (ARRAY['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Asia/Kathmandu', 'Australia/Lord_Howe',
                         'Pacific/Chatham', 'America/St_Johns', 'America/Santiago', 'Africa/Casablanca', 'Pacific/Kiritimati',
                         'Pacific/Pago_Pago', 'Asia/Tokyo', 'America/Los_Angeles'])[1 + floor(random() * 14)::int] AS tz,
                  floor(random() * 24)::int AS hour,
                  CASE WHEN random() < 0.5 THEN 'daily' ELSE 'weekly' END AS frequency,
                  1 + floor(random() * 7)::int AS weekday
             FROM generate_series(1, 20000)),
         input AS MATERIALIZED (
           SELECT CASE WHEN random() < 0.33 THEN date_trunc('hour', t) ELSE t END AS t, tz, hour, frequency, weekday
             FROM drawn)
         SELECT count(*)::int AS checked,
                count(*) FILTER (WHERE paperboy_next_send_at(t, tz, hour, frequency, weekday)
                                       IS DISTINCT FROM pg_temp.candidates_next(t, tz, hour, frequency, weekday))::int AS next_differs,
                count(*) FILTER (WHERE paperboy_last_due_at(t, tz, hour, frequency, weekday)
                                       IS DISTINCT FROM pg_temp.candidates_last(t, tz, hour, frequency, weekday))::int AS last_differs,
                min(format('%s %s %s %s %s', t, tz, hour, frequency, weekday))
                  FILTER (WHERE paperboy_next_send_at(t, tz, hour, frequency, weekday)
                                IS DISTINCT FROM pg_temp.candidates_next(t, tz, hour, frequency, weekday)
                             OR paperboy_last_due_at(t, tz, hour, frequency, weekday)
                                IS DISTINCT FROM pg_temp.candidates_last(t, tz, hour, frequency, weekday)) AS example
           FROM input`,
      );
      expect(rows[0]).toEqual({ checked: 20000, next_differs: 0, last_differs: 0, example: null });
    } finally {
      c.release();
    }
  });
});
