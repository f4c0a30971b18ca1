import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, parse, pathOf } from './support/harness.ts';

/** The "weekdays" schedule: a digest Monday to Friday at the chosen local hour, none on weekends. */
describe('daily on weekdays only', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => h?.close());

  const at = async (fn: 'paperboy_next_send_at' | 'paperboy_last_due_at', instant: string, tz: string, hour: number) =>
    (
      await h.services.db.query<{ t: Date }>(`SELECT ${fn}($1, $2, $3, 'weekdays', 1) AS t`, [instant, tz, hour])
    ).rows[0]?.t.toISOString();

  it('skips Saturday and Sunday in the reader’s own time zone', async () => {
    // Friday 27 February 2026, 09:00 UTC: Friday's 08:00 has passed, so Monday's comes next.
    expect(await at('paperboy_next_send_at', '2026-02-27T09:00:00Z', 'UTC', 8)).toBe('2026-03-02T08:00:00.000Z');
    expect(await at('paperboy_next_send_at', '2026-02-27T07:00:00Z', 'UTC', 8)).toBe('2026-02-27T08:00:00.000Z');
    expect(await at('paperboy_next_send_at', '2026-02-28T07:00:00Z', 'UTC', 8)).toBe('2026-03-02T08:00:00.000Z');
    expect(await at('paperboy_next_send_at', '2026-03-01T23:00:00Z', 'UTC', 8)).toBe('2026-03-02T08:00:00.000Z');
    expect(await at('paperboy_next_send_at', '2026-03-02T08:00:00Z', 'UTC', 8)).toBe('2026-03-03T08:00:00.000Z');
    // Friday 19:00 UTC is already Saturday 08:00 in Auckland (UTC+13): its next is Monday 08:00 there.
    expect(await at('paperboy_next_send_at', '2026-02-26T19:30:00Z', 'Pacific/Auckland', 8)).toBe(
      '2026-03-01T19:00:00.000Z',
    );
    // Friday 08:00 in Los Angeles is 16:00 UTC, Saturday's UTC morning is still Friday there.
    expect(await at('paperboy_next_send_at', '2026-02-27T10:00:00Z', 'America/Los_Angeles', 8)).toBe(
      '2026-02-27T16:00:00.000Z',
    );
    // After downtime over a weekend, the digest owed is Friday's, not Saturday's or Sunday's.
    expect(await at('paperboy_last_due_at', '2026-03-01T12:00:00Z', 'UTC', 8)).toBe('2026-02-27T08:00:00.000Z');
    expect(await at('paperboy_last_due_at', '2026-03-02T07:00:00Z', 'UTC', 8)).toBe('2026-02-27T08:00:00.000Z');
    expect(await at('paperboy_last_due_at', '2026-03-02T08:00:00Z', 'UTC', 8)).toBe('2026-03-02T08:00:00.000Z');
    expect(await at('paperboy_last_due_at', '2026-03-03T07:00:00Z', 'UTC', 8)).toBe('2026-03-02T08:00:00.000Z');
  });

  it('plans one digest on each local weekday across a weekend, through the planner, in two zones', async () => {
    await h.services.db.query(
      `INSERT INTO subscribers (email, status, frequency, timezone, send_hour, next_send_at, confirmed_at)
       VALUES ('la@example.org', 'active', 'weekdays', 'America/Los_Angeles', 8, '2026-02-26T16:00Z', '2026-02-01T00:00Z'),
              ('nz@example.org', 'active', 'weekdays', 'Pacific/Auckland', 8, '2026-02-26T19:00Z', '2026-02-01T00:00Z')`,
    );
    // Tick every three hours from Thursday to Tuesday (UTC).
    for (let t = Date.parse('2026-02-26T00:00:05Z'); t <= Date.parse('2026-03-03T23:59:00Z'); t += 3 * 3_600_000) {
      await h.services.digests.runNow(new Date(t));
    }
    const { rows } = await h.services.db.query<{ email: string; days: string[] }>(
      `SELECT s.email, array_agg(d.digest_date::text ORDER BY d.digest_date) AS days
         FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id GROUP BY s.email ORDER BY s.email`,
    );
    expect(rows).toEqual([
      // Thursday and Friday, then Monday and Tuesday in Los Angeles.
      { email: 'la@example.org', days: ['2026-02-26', '2026-02-27', '2026-03-02', '2026-03-03'] },
      // Auckland's days run 11 hours ahead of the ticks' UTC: Friday, then Monday to Wednesday there.
      { email: 'nz@example.org', days: ['2026-02-27', '2026-03-02', '2026-03-03', '2026-03-04'] },
    ]);
    const digest = await parse(h.sink.to('la@example.org')[0]!);
    expect(digest.text).toContain('Monday to Friday at 08:00 America/Los_Angeles');
  });

  it('is a choice on the preferences page, which moves the next digest to a weekday', async () => {
    h.clock.set('2026-03-06T12:00:00Z'); // a Friday
    await h.services.db.query(
      `INSERT INTO subscribers (email, status, timezone, send_hour, next_send_at, confirmed_at)
       VALUES ('pick@example.org', 'active', 'UTC', 8, '2026-03-07T08:00Z', '2026-02-01T00:00Z')`,
    );
    const id = (
      await h.services.db.query<{ id: number }>("SELECT id FROM subscribers WHERE email = 'pick@example.org'")
    ).rows[0]!.id;
    const manage = pathOf(h.services.links.manage({ id, token_epoch: 0 }, h.clock.now()));
    expect((await h.app.inject({ url: manage })).body).toContain(
      '<option value="weekdays">Weekdays (Monday to Friday)</option>',
    );
    const res = await h.app.inject({
      method: 'POST',
      url: manage,
      payload: 'frequency=weekdays',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<option value="weekdays" selected>');
    expect(res.body).toContain('Next digest: <strong>Monday 9 March at 08:00 (UTC)</strong>');
  });
});
