import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, eventually, type Harness, header, parse, runCli, settled } from './support/harness.ts';

/** Active subscribers straight into the table, due at `due`: the engine, not signup, is under test. */
async function addSubscribers(h: Harness, n: number, due: string, extra = "'UTC', 8") {
  await h.services.db.query(
    `INSERT INTO subscribers (email, status, timezone, send_hour, next_send_at, confirmed_at)
     SELECT 'reader' || i || '@example.org', 'active', ${extra}, $1::timestamptz, $1::timestamptz
       FROM generate_series(1, $2::int) AS i`,
    [due, n],
  );
}

const digestsTo = (h: Harness, email: string) => h.sink.to(email).filter((m) => m.raw.includes('Message-ID: <digest.'));
const counts = async (h: Harness) =>
  Object.fromEntries(
    (
      await h.services.db.query<{ status: string; n: number }>(
        'SELECT status, count(*)::int AS n FROM deliveries GROUP BY status',
      )
    ).rows.map((r) => [r.status, r.n]),
  );

describe('digest headers', () => {
  let h: Harness;
  // The signing key lives only as long as these tests.
  const keyDir = mkdtempSync(path.join(tmpdir(), 'paperboy-dkim-'));
  beforeAll(async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyFile = path.join(keyDir, 'dkim.pem');
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    h = await createHarness({
      env: {
        MAIL_FROM: 'Paperboy Digest <digest@papers.example>',
        REPLY_TO: 'editors@papers.example',
        UNSUBSCRIBE_MAILTO: 'unsubscribe@papers.example',
        FEEDBACK_ID: 'digest:paperboy:papers-example',
        DKIM_DOMAIN: 'papers.example',
        DKIM_SELECTOR: 'pb2026',
        DKIM_PRIVATE_KEY_FILE: keyFile,
      },
    });
    await addSubscribers(h, 1, '2026-03-03T08:00:00Z');
    await h.services.digests.runNow(new Date('2026-03-03T08:00:05Z'));
  });
  afterAll(async () => {
    await h?.close();
    rmSync(keyDir, { recursive: true, force: true });
  });

  it('carries every header mail providers expect, parsed from the received message', async () => {
    const raw = digestsTo(h, 'reader1@example.org')[0]!;
    const mail = await parse(raw);
    const id = (await h.services.db.query('SELECT id FROM subscribers')).rows[0]?.id;
    expect(header(mail, 'From')).toBe('Paperboy Digest <digest@papers.example>');
    expect(header(mail, 'To')).toBe('reader1@example.org');
    expect(header(mail, 'Reply-To')).toBe('editors@papers.example');
    expect(mail.subject).toBe('10 trending papers today · Tuesday, 3 March');
    expect(header(mail, 'Subject')).toMatch(/^=\?UTF-8\?B\?/);
    expect(mail.messageId).toBe(`<digest.2026-03-03.${id}@papers.example>`);
    expect(header(mail, 'Date')).toMatch(/^\w{3}, \d{1,2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
    expect(header(mail, 'List-Unsubscribe')).toMatch(
      /^<http:\/\/paperboy\.test\/u\/[\w.-]+>, <mailto:unsubscribe@papers\.example\?subject=unsubscribe>$/,
    );
    expect(header(mail, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
    expect(header(mail, 'List-Id')).toBe('Paperboy digest <digest.papers.example>');
    expect(header(mail, 'Feedback-ID')).toBe('digest:paperboy:papers-example');
    expect(header(mail, 'Content-Type')).toMatch(/^multipart\/alternative; boundary=/);
    expect(mail.text).toContain('1. Parameter-Efficient Orthogonal Finetuning via Butterfly Factorization');
    expect(mail.html).toContain('Parameter-Efficient Orthogonal Finetuning via Butterfly Factorization');
    expect(raw.from).toBe('digest@papers.example');
  });

  it('is DKIM-signed over both List-Unsubscribe headers', async () => {
    const mail = await parse(digestsTo(h, 'reader1@example.org')[0]!);
    const dkim = header(mail, 'DKIM-Signature') ?? '';
    expect(dkim).toMatch(/d=papers\.example/);
    expect(dkim).toMatch(/s=pb2026/);
    const signed = /(?:^|;)\s*h=([^;]+)/.exec(dkim)?.[1]?.replace(/\s/g, '').toLowerCase().split(':') ?? [];
    expect(signed).toEqual(
      expect.arrayContaining(['from', 'to', 'subject', 'message-id', 'list-unsubscribe', 'list-unsubscribe-post']),
    );
  });
});

describe('planning is idempotent', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ env: { DIGEST_BATCH_SIZE: '7' } });
    await addSubscribers(h, 40, '2026-03-03T08:00:00Z');
  });
  afterAll(async () => h?.close());

  it('two planners at once, and the same tick twice, plan each subscriber once', async () => {
    const at = new Date('2026-03-03T08:00:30Z');
    const [a, b] = await Promise.all([h.services.digests.tick(at), h.services.digests.tick(at)]);
    expect(a.claimed + b.claimed).toBe(40);
    await h.services.digests.tick(at);
    expect(await counts(h)).toEqual({ queued: 40 });
    const recorded = async () =>
      (
        await h.services.db.query<{ deliveries: number; papers: number; miscounted: number }>(
          `SELECT count(DISTINCT d.id)::int AS deliveries, count(dp.paper_id)::int AS papers,
                  (SELECT count(*)::int FROM deliveries x
                    WHERE x.paper_count <> (SELECT count(*) FROM delivery_papers y WHERE y.delivery_id = x.id)) AS miscounted
             FROM deliveries d LEFT JOIN delivery_papers dp ON dp.delivery_id = d.id`,
        )
      ).rows[0];
    const first = await recorded();
    expect(first).toMatchObject({ deliveries: 40, miscounted: 0 });
    expect(first?.papers).toBeGreaterThan(0);

    // Due again the same day (an operator moved next_send_at back): the day is planned already,
    // so neither a delivery nor a paper is added.
    await h.services.db.query('UPDATE subscribers SET next_send_at = $1', ['2026-03-03T08:00:00Z']);
    const again = await h.services.digests.tick(at);
    expect(again.claimed).toBe(40);
    expect(await recorded()).toEqual(first);
  });

  it('a send job delivered twice, even at the same moment, sends one mail per digest', async () => {
    const ids = (await h.services.db.query<{ id: number }>('SELECT id FROM deliveries ORDER BY id')).rows.map(
      (r) => r.id,
    );
    const now = new Date('2026-03-03T08:01:00Z');
    const [x, y] = await Promise.all([
      h.services.sender.sendBatch(ids, { now }),
      h.services.sender.sendBatch(ids, { now }),
    ]);
    expect(x.sent + y.sent).toBe(40);
    const again = await h.services.sender.sendBatch(ids, { now });
    expect(again.sent).toBe(0);
    for (let i = 1; i <= 40; i++) expect(digestsTo(h, `reader${i}@example.org`), `reader${i}`).toHaveLength(1);
    expect(await counts(h)).toEqual({ sent: 40 });
  });
});

describe('time zones and daylight saving, through the planner', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
    // 02:30 does not exist in New York on 8 March 2026; 01:30 happens twice on 1 November.
    await h.services.db.query(
      `INSERT INTO subscribers (email, status, timezone, send_hour, next_send_at, confirmed_at) VALUES
        ('spring@example.org', 'active', 'America/New_York', 2, paperboy_next_send_at('2026-03-06T00:00Z', 'America/New_York', 2, 'daily', 1), now()),
        ('autumn@example.org', 'active', 'America/New_York', 1, paperboy_next_send_at('2026-10-30T00:00Z', 'America/New_York', 1, 'daily', 1), now())`,
    );
  });
  afterAll(async () => h?.close());

  it('plans exactly one digest per local day when ticking every 10 minutes across the change', async () => {
    for (const [from, to] of [
      ['2026-03-06T00:00:00Z', '2026-03-10T12:00:00Z'],
      ['2026-10-30T00:00:00Z', '2026-11-03T12:00:00Z'],
    ]) {
      for (let t = new Date(from as string).getTime(); t <= new Date(to as string).getTime(); t += 10 * 60_000) {
        await h.services.planner.planAll(new Date(t), async () => {});
      }
    }
    const days = async (email: string) =>
      (
        await h.services.db.query<{ digest_date: string }>(
          'SELECT d.digest_date FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE s.email = $1 ORDER BY 1',
          [email],
        )
      ).rows.map((r) => r.digest_date);
    // The spring subscriber is due again in the autumn window: once, for the day it resumes, then daily.
    expect(await days('spring@example.org')).toEqual([
      '2026-03-06',
      '2026-03-07',
      '2026-03-08',
      '2026-03-09',
      '2026-03-10',
      '2026-10-29',
      '2026-10-30',
      '2026-10-31',
      '2026-11-01',
      '2026-11-02',
      '2026-11-03',
    ]);
    expect(await days('autumn@example.org')).toEqual([
      '2026-10-30',
      '2026-10-31',
      '2026-11-01',
      '2026-11-02',
      '2026-11-03',
    ]);
  });
});

describe('failures and recovery', () => {
  let h: Harness;
  const temporary = new Map<string, number>();
  beforeAll(async () => {
    h = await createHarness({
      env: {
        SEND_RETRY_BASE_SECONDS: '1',
        SEND_RETRY_FACTOR: '1',
        SWEEP_AFTER_SECONDS: '1',
        DELIVERY_LEASE_SECONDS: '10',
      },
      reject: (rcpt) => {
        if (rcpt.startsWith('gone')) return { code: 550, message: '5.1.1 No such user' };
        const left = temporary.get(rcpt) ?? 0;
        if (left <= 0) return undefined;
        temporary.set(rcpt, left - 1);
        return { code: 451, message: '4.3.0 Try again later' };
      },
    });
    h.startWorkers();
  });
  afterAll(async () => h?.close());

  it('retries a 4xx with backoff until the server accepts, and marks a 5xx bounced and suppressed', async () => {
    await addSubscribers(h, 2, '2026-03-03T08:00:00Z');
    await h.services.db.query("UPDATE subscribers SET email = 'gone@example.org' WHERE email = 'reader2@example.org'");
    temporary.set('reader1@example.org', 2);
    h.clock.set('2026-03-03T08:00:05Z');
    const r = await h.services.digests.runNow(new Date('2026-03-03T08:00:05Z'));
    expect(r).toMatchObject({ due: 2, sent: 0, deferred: 1, bounced: 1 });
    // The workers carry out the retries: two 451s, then 250.
    await eventually(async () => expect(digestsTo(h, 'reader1@example.org')).toHaveLength(1));
    await eventually(async () => {
      const { rows } = await h.services.db.query(
        "SELECT d.status, d.attempts FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE s.email = 'reader1@example.org'",
      );
      expect(rows).toEqual([{ status: 'sent', attempts: 3 }]);
    });
    const gone = (await h.services.db.query("SELECT status FROM subscribers WHERE email = 'gone@example.org'")).rows[0];
    expect(gone?.status).toBe('bounced');
    const suppressed = await h.services.db.query(
      "SELECT reason FROM suppressions WHERE email_hash = paperboy_email_hash('gone@example.org')",
    );
    expect(suppressed.rows).toEqual([{ reason: 'bounced' }]);
    expect(digestsTo(h, 'gone@example.org')).toHaveLength(0);
  });

  it('recovers a delivery whose worker died between claim and send, and sends it once', async () => {
    await h.services.db.query(
      "INSERT INTO subscribers (email, status, next_send_at, confirmed_at) VALUES ('crash@example.org', 'active', '2026-03-04T07:00Z', now())",
    );
    const planned = await h.services.planner.planBatch(new Date('2026-03-04T07:00:10Z'));
    expect(planned.queued).toHaveLength(1);
    // A worker claimed it and died: no job, the row stuck in `sending` past its lease.
    await h.services.db.query(
      "UPDATE deliveries SET status = 'sending', attempts = 1, claimed_at = now() - interval '11 seconds' WHERE id = $1",
      [planned.queued[0]],
    );
    h.clock.set('2026-03-04T07:05:00Z');
    expect(await h.services.digests.sweep(h.clock.now())).toBe(1);
    await eventually(async () => expect(digestsTo(h, 'crash@example.org')).toHaveLength(1));
    await eventually(async () => expect(await counts(h)).not.toHaveProperty('sending'));
    expect(await h.services.digests.sweep(h.clock.now())).toBe(0);
    expect(digestsTo(h, 'crash@example.org')).toHaveLength(1);
  });

  it('rebuilds the queue from PostgreSQL after Redis is flushed mid-run: nothing lost, nothing doubled', async () => {
    await h.services.db.query(
      `INSERT INTO subscribers (email, status, next_send_at, confirmed_at)
       SELECT 'flush' || i || '@example.org', 'active', '2026-03-05T06:00Z', now() FROM generate_series(1, 30) i`,
    );
    // Plan while the workers are paused, so the send jobs sit in Redis; then lose Redis.
    const digestQueue = h.services.queues.get('digest');
    await digestQueue.pause();
    h.clock.set('2026-03-05T06:00:10Z');
    const planned = await h.services.digests.tick(h.clock.now());
    expect(planned.queued).toBe(30);
    expect(await digestQueue.count()).toBeGreaterThan(0);
    // Lose every key of this Paperboy's queues (other test files share the Redis server).
    const keys = await h.services.queues.redis.keys(`${h.config.queuePrefix}:*`);
    await h.services.queues.redis.del(...keys);
    expect(await digestQueue.count()).toBe(0);
    await digestQueue.resume();

    await new Promise((r) => setTimeout(r, 1100)); // past SWEEP_AFTER_SECONDS
    expect(await h.services.digests.sweep(h.clock.now())).toBe(30);
    await eventually(async () => {
      for (let i = 1; i <= 30; i++) expect(digestsTo(h, `flush${i}@example.org`)).toHaveLength(1);
    });
    // A sweep now finds nothing owed; whatever it might still queue has run before the count.
    await h.services.digests.sweep(h.clock.now());
    await settled(h, 'digest');
    for (let i = 1; i <= 30; i++) expect(digestsTo(h, `flush${i}@example.org`)).toHaveLength(1);
  });
});

describe('a worker that stalls past its lease', () => {
  let h: Harness;
  /** Replies held back by the SMTP server, per recipient, in the order the messages arrived. */
  const held: { to: string; reply: (r: { code: number; message: string } | undefined) => void }[] = [];
  beforeAll(async () => {
    h = await createHarness({
      env: { DELIVERY_LEASE_SECONDS: '1', SEND_RETRY_BASE_SECONDS: '1' },
      refuseMessage: (to) =>
        to[0]?.startsWith('stall') ? new Promise((reply) => held.push({ to: to[0] as string, reply })) : undefined,
    });
  });
  afterAll(async () => h?.close());

  const deliveryOf = async (email: string) =>
    (
      await h.services.db.query(
        `SELECT d.id, d.status, d.attempts, d.message_id FROM deliveries d
           JOIN subscribers s ON s.id = d.subscriber_id WHERE s.email = $1`,
        [email],
      )
    ).rows;
  /** One active subscriber due at `due`, planned a few seconds later: the id of its delivery. */
  const planOne = async (email: string, due: string) => {
    await h.services.db.query(
      `INSERT INTO subscribers (email, status, next_send_at, confirmed_at) VALUES ($1, 'active', $2, now())`,
      [email, due],
    );
    const planned = await h.services.planner.planBatch(new Date(new Date(due).getTime() + 5000));
    return planned.queued[0] as number;
  };
  /** Waits until a delivery's claim is older than the lease, so another sender may take it. */
  const leaseOver = (id: number) =>
    eventually(async () => {
      const { rows } = await h.services.db.query(
        "SELECT claimed_at < now() - interval '1 second' AS over FROM deliveries WHERE id = $1",
        [id],
      );
      expect(rows[0]?.over).toBe(true);
    });

  it('cannot undo what the worker that took its delivery over has sent', async () => {
    const id = await planOne('stall@example.org', '2026-03-03T08:00:00Z');
    const now = new Date('2026-03-03T08:00:05Z');
    // The first sender's message stalls at the server past the lease; a second sender takes the
    // delivery over and its message stalls too.
    const first = h.services.sender.sendBatch([id], { now });
    await eventually(async () => expect(held).toHaveLength(1));
    await leaseOver(id);
    const second = h.services.sender.sendBatch([id], { now });
    await eventually(async () => expect(held).toHaveLength(2));
    // The first one's server finally answers 451: a temporary failure it may not record, since
    // the delivery is no longer its own. Then the second one's is accepted.
    held[0]?.reply({ code: 451, message: '4.4.1 Timed out' });
    expect(await first).toMatchObject({ sent: 0, deferred: [id] });
    held[1]?.reply(undefined);
    expect(await second).toMatchObject({ sent: 1, deferred: [] });

    expect(await deliveryOf('stall@example.org')).toMatchObject([
      { status: 'sent', attempts: 2, message_id: expect.stringMatching(/^<digest\./) },
    ]);
    expect(h.sink.to('stall@example.org')).toHaveLength(1);
    expect(await h.services.digests.sweep(new Date('2026-03-03T09:00:00Z'))).toBe(0);
  });

  it('settles a delivery left in sending for a subscriber who has left, rather than re-enqueueing it', async () => {
    const id = await planOne('left@example.org', '2026-03-04T08:00:00Z');
    // A worker claimed it and died; the subscriber unsubscribed meanwhile.
    await h.services.db.query(
      "UPDATE deliveries SET status = 'sending', attempts = 1, claimed_at = now() - interval '2 seconds' WHERE id = $1",
      [id],
    );
    await h.services.db.query("UPDATE subscribers SET status = 'unsubscribed' WHERE email = 'left@example.org'");
    expect(await h.services.digests.sweep(new Date('2026-03-04T09:00:00Z'))).toBe(0);
    expect(await deliveryOf('left@example.org')).toMatchObject([{ status: 'skipped' }]);
    const { rows } = await h.services.db.query('SELECT last_error FROM deliveries WHERE id = $1', [id]);
    expect(rows[0]?.last_error).toBe('not sent: the subscriber is unsubscribed');
    expect(await h.services.digests.sweep(new Date('2026-03-04T09:10:00Z'))).toBe(0);
    expect(h.sink.to('left@example.org')).toHaveLength(0);
  });
});

describe('catching up after downtime', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => h?.close());

  it('sends today’s digest once, not one per missed day', async () => {
    // Due Monday 08:00; nothing ran until Thursday 08:30.
    await h.services.db.query(
      "INSERT INTO subscribers (email, status, next_send_at, confirmed_at) VALUES ('late@example.org', 'active', '2026-03-02T08:00Z', now())",
    );
    const r = await h.services.digests.runNow(new Date('2026-03-05T08:30:00Z'));
    expect(r).toMatchObject({ due: 1, sent: 1 });
    const { rows } = await h.services.db.query('SELECT digest_date, status FROM deliveries');
    expect(rows).toEqual([{ digest_date: '2026-03-05', status: 'sent' }]);
    const s = (await h.services.db.query("SELECT next_send_at FROM subscribers WHERE email = 'late@example.org'"))
      .rows[0];
    expect(s?.next_send_at.toISOString()).toBe('2026-03-06T08:00:00.000Z');
  });

  it('records a digest older than the maximum age as skipped instead of sending it late', async () => {
    await h.services.db.query(
      "INSERT INTO subscribers (email, status, next_send_at, confirmed_at) VALUES ('later@example.org', 'active', '2026-03-09T08:00Z', now())",
    );
    // 13 h after 08:00: late for both this subscriber and the one above, due again since 6 March.
    const r = await h.services.digests.runNow(new Date('2026-03-09T21:00:00Z'));
    expect(r).toMatchObject({ due: 2, sent: 0, skipped: 2 });
    const { rows } = await h.services.db.query(
      "SELECT d.status, d.last_error FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE s.email = 'later@example.org'",
    );
    expect(rows[0]?.status).toBe('skipped');
    expect(rows[0]?.last_error).toMatch(/^too late: due at 2026-03-09 08:00:00/);
    expect(digestsTo(h, 'later@example.org')).toHaveLength(0);
  });
});

/** A digest belongs to the local day it was scheduled for, however late it is planned. */
describe('the local day of a digest', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => h?.close());

  // Each test has subscribers of its own; the other tests' subscribers are planned by the same
  // runs, so each checks its own subscriber's days rather than a run's totals.
  const days = async (email: string) =>
    (
      await h.services.db.query(
        `SELECT d.digest_date, d.status FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
          WHERE s.email = $1 ORDER BY d.digest_date`,
        [email],
      )
    ).rows;
  const add = (email: string, timezone: string, hour: number, due: string) =>
    h.services.db.query(
      `INSERT INTO subscribers (email, status, timezone, send_hour, next_send_at, confirmed_at)
       VALUES ($1, 'active', $2, $3, $4, now())`,
      [email, timezone, hour, due],
    );

  it('files a 23:00 digest planned after local midnight under its evening, and sends the next evening’s too', async () => {
    await add('night@example.org', 'UTC', 23, '2026-03-10T23:00Z');
    // Planned 90 minutes late, after midnight.
    await h.services.digests.runNow(new Date('2026-03-11T00:30:00Z'));
    await h.services.digests.runNow(new Date('2026-03-11T23:00:30Z'));
    expect(await days('night@example.org')).toEqual([
      { digest_date: '2026-03-10', status: 'sent' },
      { digest_date: '2026-03-11', status: 'sent' },
    ]);
    expect(digestsTo(h, 'night@example.org')).toHaveLength(2);
  });

  it('does the same in a zone east of UTC, where the local evening is the UTC afternoon', async () => {
    await add('tokyo@example.org', 'Asia/Tokyo', 23, '2026-03-10T14:00Z');
    await h.services.digests.runNow(new Date('2026-03-10T15:30:00Z'));
    await h.services.digests.runNow(new Date('2026-03-11T14:00:30Z'));
    expect(await days('tokyo@example.org')).toEqual([
      { digest_date: '2026-03-10', status: 'sent' },
      { digest_date: '2026-03-11', status: 'sent' },
    ]);
  });

  it('skips a day lost to an outage of 12 hours or more and leaves the next day untouched', async () => {
    await add('outage@example.org', 'UTC', 8, '2026-03-12T08:00Z');
    // Nothing ran from 07:00 until 07:30 the next morning, before that day's 08:00.
    await h.services.digests.runNow(new Date('2026-03-13T07:30:00Z'));
    await h.services.digests.runNow(new Date('2026-03-13T08:00:30Z'));
    expect(await days('outage@example.org')).toEqual([
      { digest_date: '2026-03-12', status: 'skipped' },
      { digest_date: '2026-03-13', status: 'sent' },
    ]);
  });

  it('sends at most one digest for a day whose send hour changed after the day’s digest was due', async () => {
    await add('changer@example.org', 'UTC', 8, '2026-03-14T08:00Z');
    await h.services.digests.runNow(new Date('2026-03-14T08:00:30Z'));
    // Later that morning the reader moves the hour to the evening: today's digest is already out.
    const id = (await h.services.db.query("SELECT id FROM subscribers WHERE email = 'changer@example.org'")).rows[0]
      ?.id as number;
    await h.services.manage.updatePreferences(h.services.links.manageToken({ id, token_epoch: 0 }, h.clock.now()), {
      hour: 21,
    });
    await h.services.digests.runNow(new Date('2026-03-14T21:00:30Z'));
    await h.services.digests.runNow(new Date('2026-03-15T21:00:30Z'));
    expect(await days('changer@example.org')).toEqual([
      { digest_date: '2026-03-14', status: 'sent' },
      { digest_date: '2026-03-15', status: 'sent' },
    ]);
    expect(digestsTo(h, 'changer@example.org')).toHaveLength(2);
  });
});

/**
 * Only a verdict on one recipient says anything about that address: a relay that refuses the
 * sender fails every message alike and leaves every digest owed; a message refused for its content
 * is given up with its reply, and its reader keeps the next digest.
 */
describe('what an SMTP refusal is about', () => {
  let h: Harness;
  let senderRefused = true;
  /** MAIL FROM commands the relay refused. */
  let senderRefusals = 0;
  const contentRefused = new Set<string>();
  const saidGone = new Set<string>();
  const ADMIN = { authorization: `Basic ${Buffer.from('admin:relay-test-password-1234').toString('base64')}` };
  beforeAll(async () => {
    h = await createHarness({
      env: {
        SEND_RETRY_BASE_SECONDS: '1',
        SEND_RETRY_FACTOR: '1',
        RELAY_PROBE_SECONDS: '1',
        ADMIN_PASSWORD: 'relay-test-password-1234',
      },
      reject: (rcpt) => (saidGone.has(rcpt) ? { code: 550, message: '5.1.1 User unknown' } : undefined),
      refuseSender: () => {
        if (!senderRefused) return undefined;
        senderRefusals++;
        return { code: 553, message: '5.7.1 Sender address rejected' };
      },
      refuseMessage: (to) =>
        to.some((r) => contentRefused.has(r)) ? { code: 554, message: '5.7.1 Message content rejected' } : undefined,
    });
  });
  afterAll(async () => h?.close());

  const statusOf = async (email: string) =>
    (
      await h.services.db.query(
        `SELECT s.status, s.next_send_at, d.status AS delivery, d.smtp_response, d.digest_date::text AS day,
                (SELECT count(*)::int FROM suppressions WHERE email_hash = paperboy_email_hash(s.email)) AS suppressions
           FROM subscribers s LEFT JOIN deliveries d ON d.subscriber_id = s.id
          WHERE s.email = $1 ORDER BY d.digest_date`,
        [email],
      )
    ).rows;

  it('keeps every digest owed and every address when the relay refuses the sender, and sends them once it is fixed', async () => {
    await addSubscribers(h, 3, '2026-03-03T08:00:00Z');
    h.clock.set('2026-03-03T08:00:05Z');
    const r = await h.services.digests.runNow(h.clock.now());
    expect(r).toMatchObject({ due: 3, sent: 0, bounced: 0, refused: 0, deferred: 3, relayDown: 3 });
    expect(r.relayReply).toMatch(/^553 5\.7\.1 Sender address rejected/);
    expect(r.relayPausedUntil).toBeInstanceOf(Date);
    for (let i = 1; i <= 3; i++) {
      expect(await statusOf(`reader${i}@example.org`)).toMatchObject([
        { status: 'active', delivery: 'queued', suppressions: 0 },
      ]);
    }
    // The relay is fixed: the workers' retries send that day's digests, once each.
    senderRefused = false;
    h.startWorkers();
    await eventually(async () => {
      for (let i = 1; i <= 3; i++) expect(digestsTo(h, `reader${i}@example.org`)).toHaveLength(1);
    });
    await settled(h, 'digest');
    for (let i = 1; i <= 3; i++) {
      expect(await statusOf(`reader${i}@example.org`)).toMatchObject([{ status: 'active', delivery: 'sent' }]);
      expect(digestsTo(h, `reader${i}@example.org`)).toHaveLength(1);
    }
    await h.stopWorkers();
  });

  it('gives up a message refused for its content without suppressing its reader, who gets the next digest', async () => {
    contentRefused.add('reader1@example.org');
    h.clock.set('2026-03-04T08:00:05Z');
    const r = await h.services.digests.runNow(h.clock.now());
    expect(r).toMatchObject({ due: 3, sent: 2, bounced: 0, refused: 1, deferred: 0 });
    const [, refused] = await statusOf('reader1@example.org');
    expect(refused).toMatchObject({
      status: 'active',
      day: '2026-03-04',
      delivery: 'failed',
      smtp_response: expect.stringMatching(/^554 5\.7\.1 Message content rejected/),
      suppressions: 0,
    });
    expect(new Date(refused?.next_send_at).toISOString()).toBe('2026-03-05T08:00:00.000Z');

    contentRefused.clear();
    h.clock.set('2026-03-05T08:00:05Z');
    expect(await h.services.digests.runNow(h.clock.now())).toMatchObject({ due: 3, sent: 3, refused: 0 });
    expect(digestsTo(h, 'reader1@example.org')).toHaveLength(2);
  });

  it('pauses sending everywhere while the relay refuses, says so, and resumes by itself once a probe gets through', async () => {
    await h.services.db.query(
      `INSERT INTO subscribers (email, status, timezone, send_hour, next_send_at, confirmed_at)
       SELECT 'many' || i || '@example.org', 'active', 'UTC', 9, '2026-03-05T09:00Z', now()
         FROM generate_series(1, 40) AS i`,
    );
    senderRefused = true;
    h.clock.set('2026-03-05T09:00:05Z');
    const r = await h.services.digests.runNow(h.clock.now());
    expect(r.due).toBe(40);
    // Each lane stops at the streak: a handful tried, not forty.
    expect(r.relayDown).toBeGreaterThanOrEqual(5);
    expect(r.relayDown).toBeLessThan(40);
    expect(r).toMatchObject({ sent: 0, bounced: 0, refused: 0, deferred: 40 });
    expect(r.relayPausedUntil).toBeInstanceOf(Date);
    const owed = async () =>
      (
        await h.services.db.query(
          `SELECT d.status, count(*)::int AS n, max(d.attempts)::int AS attempts, sum(d.relay_failures)::int AS relay
             FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
            WHERE s.email LIKE 'many%' GROUP BY d.status`,
        )
      ).rows;
    // Owed, and no attempt counted against any of them: the relay failed, not the messages.
    expect(await owed()).toEqual([{ status: 'queued', n: 40, attempts: 0, relay: r.relayDown }]);

    // The breaker is open for every sender: another batch tries the relay at most once (a probe,
    // if its time has come), not message after message.
    const ids = (
      await h.services.db.query<{ id: number }>(
        "SELECT d.id FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE s.email LIKE 'many%'",
      )
    ).rows.map((x) => x.id);
    const refusalsBefore = senderRefusals;
    const again = await h.services.sender.sendBatch(ids, { now: h.clock.now() });
    expect(again).toMatchObject({ sent: 0, relayPaused: true });
    expect(senderRefusals - refusalsBefore).toBeLessThanOrEqual(1);

    // Every way an operator looks says so, with the relay's reply.
    const ready = await h.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.json().relay).toMatchObject({
      status: 'refusing',
      reply: expect.stringMatching(/^553 5\.7\.1 Sender address rejected/),
    });
    const metrics = await h.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/^paperboy_smtp_relay_refusing 1$/m);
    const admin = await h.app.inject({ method: 'GET', url: '/admin', headers: ADMIN });
    expect(admin.body).toContain('The SMTP relay refuses mail');
    expect(admin.body).toContain('553 5.7.1 Sender address rejected');
    const cli = await runCli(['digest', 'run', '--at', '2026-03-05T09:00:06Z'], h.env);
    expect(cli.stdout).toMatch(
      /Sending is paused: the SMTP relay refuses mail since .*"553 5\.7\.1 Sender address rejected/,
    );

    // The workers wait for the relay: probes go out, one at a time, and spend no attempt.
    h.startWorkers();
    const probesFrom = senderRefusals;
    await eventually(async () => expect(senderRefusals - probesFrom).toBeGreaterThanOrEqual(2));
    await h.stopWorkers(); // a probe in flight holds its delivery in `sending` until it is answered
    expect(await owed()).toEqual([{ status: 'queued', n: 40, attempts: 0, relay: expect.any(Number) }]);

    // The relay is fixed: the next probe gets through and the day's digests go out, once each.
    senderRefused = false;
    h.startWorkers();
    await eventually(async () => {
      for (let i = 1; i <= 40; i++) expect(digestsTo(h, `many${i}@example.org`)).toHaveLength(1);
    });
    await settled(h, 'digest');
    for (let i = 1; i <= 40; i++) expect(digestsTo(h, `many${i}@example.org`)).toHaveLength(1);
    expect((await h.app.inject({ method: 'GET', url: '/readyz' })).json().relay).toEqual({ status: 'accepting' });
    expect((await h.app.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/^paperboy_smtp_relay_refusing 0$/m);
    await h.stopWorkers();
  });

  it('lets an operator see why addresses are suppressed and lift those a mistake caused', async () => {
    // A relay that answered two recipients with a mailbox verdict by mistake, for one day.
    saidGone.add('reader2@example.org').add('reader3@example.org');
    h.clock.set('2026-03-06T08:00:05Z');
    expect(await h.services.digests.runNow(h.clock.now())).toMatchObject({ sent: 1, bounced: 2 });
    saidGone.clear();
    const refusing = ['reader2@example.org', 'reader3@example.org'];
    const list = await runCli(['suppressions', 'list', '--reason', 'bounced'], h.env);
    expect(list.code, list.stderr).toBe(0);
    for (const email of refusing) {
      expect(list.stdout).toMatch(new RegExp(`bounced\\s+${email}\\s+550 5\\.1\\.1 User unknown`));
    }
    const lift = await runCli(
      ['suppressions', 'lift', '--reason', 'bounced', '--since', '2026-01-01T00:00:00Z'],
      h.env,
    );
    expect(lift.code, lift.stderr).toBe(0);
    expect(lift.stdout).toMatch(/^Lifted 2 suppressions; 2 subscribers receive mail again\./);
    for (const email of refusing) {
      expect(await statusOf(email)).toEqual(
        expect.arrayContaining([expect.objectContaining({ status: 'active', suppressions: 0 })]),
      );
    }
    // They are due again from the time the command ran (its own clock: the real one).
    for (const email of refusing) {
      const [row] = await statusOf(email);
      expect(new Date(row?.next_send_at).getTime()).toBeGreaterThan(Date.now() - 60_000);
    }
    const bad = await runCli(['suppressions', 'list', '--reason', 'lost'], h.env);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('paperboy: --reason: expected one of bounced, complaint, erased');
  });
});
