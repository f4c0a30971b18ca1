import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRetention, type Retention } from '../services/ops/retention.ts';
import { createHarness, type Harness, settled, subscribeAndConfirm } from './support/harness.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * Retention in PostgreSQL (services/ops/retention.ts) with its default settings: each rule deletes
 * what it should and keeps what it must, in chunks, and a second run finds nothing left to do.
 */
describe('retention', () => {
  let h: Harness;
  /** The service's retention, walking seven rows per statement so that every rule takes several. */
  let retention: Retention;
  let now: Date;

  beforeAll(async () => {
    h = await createHarness({
      reject: (rcpt) => (rcpt.startsWith('gone') ? { code: 550, message: '5.1.1 No such user here' } : undefined),
    });
    // Rows get PostgreSQL's now() as well as the service's clock: make them agree.
    h.clock.set(new Date().toISOString());
    now = h.clock.now();
    const { config } = h;
    retention = createRetention({
      db: h.services.db,
      queues: h.services.queues,
      log: h.services.log,
      policy: { ...config.retention, confirmTtlHours: config.confirmTtlHours, jobs: config.jobRetention },
      chunkRows: 7,
    });
    h.startWorkers();
  });
  afterAll(async () => h?.close());

  const db = () => h.services.db;
  const ago = (ms: number) => new Date(now.getTime() - ms);
  const count = async (sql: string, params: unknown[] = []) =>
    (await db().query<{ n: number }>(`SELECT count(*)::integer AS n FROM ${sql}`, params)).rows[0]?.n;
  /** Moves every time a subscriber's row holds back by `ms`, as if all of it had happened that much earlier. */
  const backdate = (email: string, ms: number) =>
    db().query(
      `UPDATE subscribers
          SET created_at = created_at - $2::interval, updated_at = updated_at - $2::interval,
              confirm_queued_at = confirm_queued_at - $2::interval, confirm_sent_at = confirm_sent_at - $2::interval,
              confirm_given_up_at = confirm_given_up_at - $2::interval, confirmed_at = confirmed_at - $2::interval
        WHERE email = $1`,
      [email, `${ms / 1000} seconds`],
    );
  const signup = async (email: string) => {
    const res = await h.app.inject({ method: 'POST', url: '/api/subscriptions', payload: { email } });
    expect(res.statusCode).toBe(202);
  };
  const statusOf = async (email: string) =>
    (await db().query<{ status: string }>('SELECT status FROM subscribers WHERE email = $1', [email])).rows[0]?.status;

  it('deletes signups never confirmed a week after their link expired, and no one else', async () => {
    await subscribeAndConfirm(h, 'reader@example.org');
    await subscribeAndConfirm(h, 'left@example.org');
    await db().query("UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = now() WHERE email = $1", [
      'left@example.org',
    ]);
    for (const email of ['forgotten@example.org', 'waiting@example.org', 'again@example.org', 'gone@example.org']) {
      await signup(email);
    }
    await settled(h, 'mail');
    expect(await statusOf('gone@example.org')).toBe('bounced');

    // The link lasts CONFIRM_TTL_HOURS (7 days); a week after that the signup goes.
    await backdate('forgotten@example.org', 14 * DAY + HOUR);
    await backdate('waiting@example.org', 14 * DAY - HOUR);
    await backdate('again@example.org', 60 * DAY);
    await signup('again@example.org'); // signed up again today: a fresh link
    await settled(h, 'mail');
    for (const email of ['reader@example.org', 'left@example.org']) await backdate(email, 400 * DAY);
    // Bounced before it was ever confirmed: not pending, so it stays, as does its suppression.
    await backdate('gone@example.org', 20 * DAY);
    // A suppression left by an erasure, a year old.
    await db().query(
      "INSERT INTO suppressions (email_hash, reason, created_at) VALUES (paperboy_email_hash('erased@example.org'), 'erased', now() - interval '1 year')",
    );
    const suppressions = await count('suppressions');

    const report = await retention.run(now);
    expect(report.pendingSignups).toBe(1);
    expect(await statusOf('forgotten@example.org')).toBeUndefined();
    expect(await statusOf('waiting@example.org')).toBe('pending');
    expect(await statusOf('again@example.org')).toBe('pending');
    expect(await statusOf('reader@example.org')).toBe('active');
    expect(await statusOf('left@example.org')).toBe('unsubscribed');
    expect(await statusOf('gone@example.org')).toBe('bounced');
    expect(await count('suppressions')).toBe(suppressions);

    // The address is new again: a signup gets a fresh confirmation.
    await signup('forgotten@example.org');
    await settled(h, 'mail');
    expect(await statusOf('forgotten@example.org')).toBe('pending');
    expect(h.sink.to('forgotten@example.org')).toHaveLength(2);
  });

  it('deletes many expired signups in chunks', async () => {
    await db().query(
      `INSERT INTO subscribers (email, status, created_at, confirm_queued_at, confirm_sent_at)
       SELECT 'old-' || i || '@example.org', 'pending', $1::timestamptz, $1::timestamptz, $1::timestamptz
         FROM generate_series(1, 30) AS i`,
      [ago(20 * DAY)],
    );
    expect((await retention.run(now)).pendingSignups).toBe(30);
    expect(await count("subscribers WHERE email LIKE 'old-%'")).toBe(0);
  });

  describe('paper observations', () => {
    const cutoff = () => ago(7 * DAY);
    type Observation = { paper: number; at: Date; source: string; upvotes: number | null };
    const observations: Observation[] = [];

    /** A paper with the observations its sources reported; its totals are the latest ones. */
    const paper = async (title: string, freshAt: Date, seen: Array<[number, number | null, string?]>) => {
      const upvotes = seen.filter(([, u]) => u !== null).at(-1)?.[1] ?? null;
      const { rows } = await db().query<{ id: number }>(
        `INSERT INTO papers (title_key, title, sources, fresh_at, upvotes) VALUES ($1, $1, '{hf}', $2, $3) RETURNING id`,
        [title, freshAt, upvotes],
      );
      const id = rows[0]?.id as number;
      for (const [msAgo, u, source = 'hf'] of seen) {
        const o = { paper: id, at: ago(msAgo), source, upvotes: u };
        observations.push(o);
        await db().query(
          'INSERT INTO paper_observations (paper_id, observed_at, source, upvotes) VALUES ($1, $2, $3, $4)',
          [o.paper, o.at, o.source, o.upvotes],
        );
      }
      return id;
    };
    const scores = async () =>
      (await db().query('SELECT id, trend_score, trend_reason FROM papers ORDER BY id')).rows as Array<{
        id: number;
        trend_score: number;
        trend_reason: string;
      }>;
    /** What each ranking time gives, ranked afresh. */
    const rankAt = async (times: Date[]) => {
      const out = [];
      for (const at of times) {
        await h.services.papers.refreshTrends(at);
        out.push(await scores());
      }
      return out;
    };

    it('keeps what the ranking reads: every observation of the last week and the latest before it', async () => {
      // Seen twice a day for 20 days, rising.
      const steady = await paper(
        'steady',
        ago(20 * DAY),
        Array.from({ length: 40 }, (_, k) => [20 * DAY - k * 12 * HOUR, 2 * k] as [number, number]),
      );
      // Seen 10 and 9 days ago, then not until two hours ago: the 9-day-old observation is the
      // baseline of its gain.
      const quiet = await paper('quiet', ago(12 * DAY), [
        [10 * DAY, 10],
        [9 * DAY, 20],
        [2 * HOUR, 50],
      ]);
      // Two sources at the same instant: both rows are the baseline.
      const twoSources = await paper('two sources', ago(15 * DAY), [
        [14 * DAY, 5],
        [8 * DAY, 8],
        [8 * DAY, null, 'arxiv'],
        [3 * DAY, 12],
      ]);
      const once = await paper('once', ago(30 * DAY), [[30 * DAY, 7]]);
      const fresh = await paper('fresh', ago(2 * DAY), [
        [2 * DAY, 1],
        [DAY, 3],
        [HOUR, 9],
      ]);
      // Ranked now, and at any time from a day after the cutoff on (a `digest run --at` in the past).
      const times = [now, ago(5 * DAY), new Date(now.getTime() + 3 * DAY)];
      const before = await rankAt(times);
      expect(before[0]?.find((p) => p.id === quiet)?.trend_reason).toBe('+30 upvotes today');

      const report = await retention.run(now);

      const kept = observations.filter(
        (o) =>
          o.at >= cutoff() ||
          o.at.getTime() ===
            Math.max(...observations.filter((x) => x.paper === o.paper && x.at < cutoff()).map((x) => x.at.getTime())),
      );
      const key = (o: { paper: number; at: Date; source: string }) => `${o.paper} ${o.at.toISOString()} ${o.source}`;
      const mine = [steady, quiet, twoSources, once, fresh];
      const { rows } = await db().query<{ paper: number; at: Date; source: string }>(
        'SELECT paper_id AS paper, observed_at AS at, source FROM paper_observations WHERE paper_id = ANY($1)',
        [mine],
      );
      expect(rows.map(key).sort()).toEqual(kept.map(key).sort());
      expect(report.observations).toBe(observations.length - kept.length);
      // 25 of the steady paper's, one of the quiet one's, one of the two-source one's.
      expect(report.observations).toBe(27);

      expect(await rankAt(times)).toEqual(before);
    });

    it('finds nothing more to delete on a second run', async () => {
      const report = await retention.run(now);
      expect(report).toMatchObject({
        pendingSignups: 0,
        observations: 0,
        ingestRuns: 0,
        deliveryReplies: 0,
        confirmationReplies: 0,
      });
    });
  });

  it('deletes reads of the sources after 30 days, but never the newest 20', async () => {
    const run = (startedAt: Date) =>
      db().query(
        `INSERT INTO ingest_runs (source, location, started_at, finished_at, status, entries, new, updated, unchanged, skipped)
         VALUES ('hf', 'https://huggingface.co/api/daily_papers', $1, $1, 'ok', 1, 0, 0, 1, 0)`,
        [startedAt],
      );
    await db().query('DELETE FROM ingest_runs');
    for (let i = 0; i < 22; i++) await run(ago(40 * DAY + i * HOUR));
    for (let i = 0; i < 3; i++) await run(ago(i * HOUR));
    expect((await retention.run(now)).ingestRuns).toBe(5);
    expect(await count('ingest_runs')).toBe(20);
    expect(await count('ingest_runs WHERE started_at < $1', [ago(40 * DAY + 16 * HOUR)])).toBe(0);

    for (let i = 0; i < 30; i++) await run(ago(i * HOUR));
    expect((await retention.run(now)).ingestRuns).toBe(17);
    expect(await count('ingest_runs')).toBe(33);
    expect(await count('ingest_runs WHERE started_at < $1', [ago(30 * DAY)])).toBe(0);
  });

  it("clears the servers' replies after 30 days, keeping what came of each mail", async () => {
    const { rows } = await db().query<{ id: number }>("SELECT id FROM subscribers WHERE email = 'reader@example.org'");
    const reader = rows[0]?.id as number;
    const deliver = (day: number, status: string, planned: Date, reply: string | null, error: string | null = null) =>
      db().query(
        `INSERT INTO deliveries (subscriber_id, digest_date, due_at, status, planned_at, smtp_response, last_error)
         VALUES ($1, date '2026-01-01' + $2::integer, $3, $4, $3, $5, $6)`,
        [reader, day, planned, status, reply, error],
      );
    // In the order they were planned, as ids are.
    for (let day = 0; day < 20; day++)
      await deliver(day, 'sent', ago(60 * DAY - day * DAY), '250 2.0.0 Ok: queued as A1');
    await deliver(
      20,
      'failed',
      ago(35 * DAY),
      '554 5.7.1 Message content rejected',
      '554 5.7.1 Message content rejected',
    );
    await deliver(
      21,
      'bounced',
      ago(34 * DAY),
      '550 5.1.1 <reader@example.org>: no such user',
      '550 5.1.1 no such user',
    );
    await deliver(22, 'skipped', ago(33 * DAY), null, 'no new papers');
    await deliver(23, 'failed', ago(32 * DAY), null, '451 4.3.0 Try again later');
    await deliver(24, 'sent', ago(29 * DAY), '250 2.0.0 Ok: queued as B2');
    await deliver(
      25,
      'failed',
      ago(5 * DAY),
      '554 5.7.1 Message content rejected',
      '554 5.7.1 Message content rejected',
    );
    // The address that bounced its confirmation, 40 days ago by now.
    await backdate('gone@example.org', 20 * DAY);
    const bounced = await db().query<{ confirm_last_error: string | null }>(
      "SELECT confirm_last_error FROM subscribers WHERE email = 'gone@example.org'",
    );
    expect(bounced.rows[0]?.confirm_last_error).toMatch(/^550 5\.1\.1/);

    const report = await retention.run(now);
    expect(report.deliveryReplies).toBe(23);
    expect(report.confirmationReplies).toBe(1);
    const after = await db().query(
      `SELECT digest_date - date '2026-01-01' AS day, status, smtp_response, last_error
         FROM deliveries WHERE subscriber_id = $1 AND digest_date >= date '2026-01-01' ORDER BY digest_date`,
      [reader],
    );
    expect(after.rows.slice(0, 20).every((r) => r.status === 'sent' && r.smtp_response === null)).toBe(true);
    expect(after.rows.slice(20)).toEqual([
      { day: 20, status: 'failed', smtp_response: null, last_error: null },
      { day: 21, status: 'bounced', smtp_response: null, last_error: null },
      { day: 22, status: 'skipped', smtp_response: null, last_error: 'no new papers' },
      { day: 23, status: 'failed', smtp_response: null, last_error: null },
      { day: 24, status: 'sent', smtp_response: '250 2.0.0 Ok: queued as B2', last_error: null },
      {
        day: 25,
        status: 'failed',
        smtp_response: '554 5.7.1 Message content rejected',
        last_error: '554 5.7.1 Message content rejected',
      },
    ]);
    const gone = await db().query(
      `SELECT s.status, s.confirm_last_error, x.reason, x.detail
         FROM subscribers s JOIN suppressions x ON x.email_hash = paperboy_email_hash(s.email)
        WHERE s.email = 'gone@example.org'`,
    );
    expect(gone.rows[0]).toMatchObject({ status: 'bounced', confirm_last_error: null, reason: 'bounced' });
    expect(gone.rows[0]?.detail).toMatch(/^550 5\.1\.1/);

    // Run again: nothing left; a month later the 29-day-old reply goes, and it is the only one.
    expect((await retention.run(now)).deliveryReplies).toBe(0);
    now = new Date(now.getTime() + 30 * DAY);
    expect((await retention.run(now)).deliveryReplies).toBe(2);
  });
});
