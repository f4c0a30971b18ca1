import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../support/harness.ts';

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
