import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Outcome } from '../services/delivery/channel.ts';
import { createDeliveryEngine } from '../services/delivery/engine.ts';
import { createDigestStore, type DigestDelivery } from '../services/digests/store.ts';
import { type Answer, InboxChannel } from './support/channel.ts';
import { createHarness, eventually, type Harness } from './support/harness.ts';

/**
 * The delivery engine's contract, over a channel that is not email: what it claims, how it settles
 * each outcome a channel can answer, and what its breaker and fencing tokens guarantee. The digests
 * store underneath is the real one, on PostgreSQL; the email channel has its own tests (delivery,
 * headers, faults).
 */
describe('the delivery engine over a channel', () => {
  let h: Harness;
  let minute = 0;
  beforeAll(async () => {
    h = await createHarness({ env: { RELAY_PROBE_SECONDS: '1' } });
  });
  afterAll(async () => h?.close());

  const engineOver = (channel: InboxChannel<DigestDelivery>, leaseSeconds = 300) =>
    createDeliveryEngine({
      store: createDigestStore(h.services.db),
      channel,
      breaker: h.services.breaker,
      log: h.services.log,
      retry: { baseSeconds: 60, factor: 2, maxSeconds: 3600 },
      maxAgeSeconds: 12 * 3600,
      leaseSeconds,
    });

  /**
   * Active subscribers due a minute after the previous test's, planned: their delivery ids by
   * address, and the time they were planned at. Earlier tests' subscribers are due the next day.
   */
  async function plan(emails: string[]): Promise<{ ids: Record<string, number>; now: Date }> {
    const due = new Date(Date.UTC(2026, 2, 3, 8, minute++));
    await h.services.db.query(
      `INSERT INTO subscribers (email, status, timezone, send_hour, next_send_at, confirmed_at)
       SELECT e, 'active', 'UTC', 8, $2, now() FROM unnest($1::text[]) AS e`,
      [emails, due],
    );
    const now = new Date(due.getTime() + 5000);
    const planned = await h.services.planner.planBatch(now);
    expect(planned.queued).toHaveLength(emails.length);
    const { rows } = await h.services.db.query<{ email: string; id: number }>(
      'SELECT s.email, d.id FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE d.id = ANY($1)',
      [planned.queued],
    );
    return { ids: Object.fromEntries(rows.map((r) => [r.email, r.id])), now };
  }

  const deliveryOf = async (id: number) =>
    (
      await h.services.db.query(
        `SELECT d.status, d.attempts, d.relay_failures, d.message_id, d.smtp_response, d.last_error,
                d.next_attempt_at, s.status AS subscriber,
                (SELECT count(*)::int FROM suppressions WHERE email_hash = paperboy_email_hash(s.email)) AS suppressions
           FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE d.id = $1`,
        [id],
      )
    ).rows[0];

  const byAddress = (answers: Record<string, Outcome>) => (m: DigestDelivery) => answers[m.email];

  it('records what the channel took, and settles each refusal for what it is about', async () => {
    const { ids, now } = await plan([
      'taken@example.org',
      'later@example.org',
      'gone@example.org',
      'refused@example.org',
    ]);
    const channel = new InboxChannel<DigestDelivery>(
      byAddress({
        'later@example.org': { kind: 'retry-later', reply: '451 4.7.1 greylisted' },
        'gone@example.org': { kind: 'address-gone', reply: '550 5.1.1 no such user' },
        'refused@example.org': { kind: 'message-refused', reply: '554 5.7.1 content rejected' },
      }),
    );
    const engine = engineOver(channel);
    const all = Object.values(ids);
    const later = ids['later@example.org'] as number;

    expect(await engine.sendBatch(all, { now })).toMatchObject({
      sent: 1,
      deferred: [later],
      failed: 0,
      bounced: 1,
      refused: 1,
      relayDown: 0,
      notOwed: 0,
      released: 0,
      unrecorded: 0,
    });
    const taken = ids['taken@example.org'] as number;
    expect(channel.inbox.map((m) => m.message.id)).toEqual([taken]);
    // The channel is handed the digest as planned, papers included, and the planner's time.
    expect(channel.inbox[0]?.message).toMatchObject({ email: 'taken@example.org', digestDate: '2026-03-03' });
    expect(channel.inbox[0]?.message.papers.length).toBeGreaterThan(0);
    expect(channel.inbox[0]?.at).toEqual(now);
    expect(await deliveryOf(taken)).toMatchObject({
      status: 'sent',
      attempts: 1,
      message_id: `<inbox.${taken}@paperboy.test>`,
      smtp_response: 'stored as 1',
      last_error: null,
    });
    const deferred = await deliveryOf(later);
    expect(deferred).toMatchObject({ status: 'queued', attempts: 1, last_error: '451 4.7.1 greylisted' });
    expect(deferred?.next_attempt_at.getTime()).toBeGreaterThan(now.getTime());
    expect(await deliveryOf(ids['gone@example.org'] as number)).toMatchObject({
      status: 'bounced',
      smtp_response: '550 5.1.1 no such user',
      subscriber: 'bounced',
      suppressions: 1,
    });
    expect(await deliveryOf(ids['refused@example.org'] as number)).toMatchObject({
      status: 'failed',
      smtp_response: '554 5.7.1 content rejected',
      subscriber: 'active',
      suppressions: 0,
    });

    // The same batch again: what was settled is not owed; the deferred one is tried once more.
    expect(await engine.sendBatch(all, { now })).toMatchObject({ sent: 0, deferred: [later], notOwed: 3 });
    expect(await deliveryOf(later)).toMatchObject({ status: 'queued', attempts: 2 });
    expect(channel.inbox).toHaveLength(1);
  });

  it('fails a delivery whose last attempt is refused for now', async () => {
    const { ids, now } = await plan(['last@example.org']);
    const id = ids['last@example.org'] as number;
    const engine = engineOver(new InboxChannel(() => ({ kind: 'retry-later', reply: '452 4.2.2 mailbox full' })));
    expect(await engine.sendBatch([id], { now, lastAttempt: true })).toMatchObject({ failed: 1, deferred: [] });
    expect(await deliveryOf(id)).toMatchObject({
      status: 'failed',
      last_error: '452 4.2.2 mailbox full',
      next_attempt_at: null,
    });
  });

  it('hands the channel nothing too late or owed to someone who has left, and settles both', async () => {
    const { ids, now } = await plan(['stale@example.org', 'left@example.org']);
    await h.services.db.query("UPDATE subscribers SET status = 'unsubscribed' WHERE email = 'left@example.org'");
    const channel = new InboxChannel<DigestDelivery>();
    const report = await engineOver(channel).sendBatch([ids['stale@example.org'] as number], {
      now: new Date(now.getTime() + 13 * 3600_000),
    });
    expect(report).toMatchObject({ sent: 0, stale: 1, notOwed: 0 });
    expect(await engineOver(channel).sendBatch([ids['left@example.org'] as number], { now })).toMatchObject({
      sent: 0,
      notOwed: 1,
    });
    expect(channel.tried).toHaveLength(0);
    expect((await deliveryOf(ids['stale@example.org'] as number))?.last_error).toMatch(/^too late: due at /);
    expect(await deliveryOf(ids['left@example.org'] as number)).toMatchObject({
      status: 'skipped',
      last_error: 'not sent: the subscriber is unsubscribed',
    });
  });

  it('lets only the claim that holds a delivery settle it', async () => {
    const { ids, now } = await plan(['stall@example.org']);
    const id = ids['stall@example.org'] as number;
    // Every answer is held back until the test gives it.
    const held: ((a: Answer) => void)[] = [];
    const channel = new InboxChannel<DigestDelivery>(() => new Promise<Outcome | undefined>((r) => held.push(r)));
    const engine = engineOver(channel, 1);

    const first = engine.sendBatch([id], { now });
    await eventually(async () => expect(held).toHaveLength(1));
    // The first sender stalls past its lease; a second one takes the delivery over.
    await eventually(async () => {
      const { rows } = await h.services.db.query(
        "SELECT claimed_at < now() - interval '1 second' AS over FROM deliveries WHERE id = $1",
        [id],
      );
      expect(rows[0]?.over).toBe(true);
    });
    const second = engine.sendBatch([id], { now });
    await eventually(async () => expect(held).toHaveLength(2));

    // The first one's answer comes back: a refusal for now, which it may no longer record.
    held[0]?.({ kind: 'retry-later', reply: '451 4.4.1 timed out' });
    expect(await first).toMatchObject({ sent: 0, deferred: [id] });
    expect(await deliveryOf(id)).toMatchObject({ status: 'sending', attempts: 2, last_error: null });

    held[1]?.(undefined);
    expect(await second).toMatchObject({ sent: 1, deferred: [] });
    expect(await deliveryOf(id)).toMatchObject({
      status: 'sent',
      attempts: 2,
      message_id: `<inbox.${id}@paperboy.test>`,
    });
    expect(channel.taken(id)).toHaveLength(1);
  });

  it('stops at a channel that is down, holds none of it against the messages, and resumes after a probe', async () => {
    const emails = Array.from({ length: 40 }, (_, i) => `down${i + 1}@example.org`);
    const { ids, now } = await plan(emails);
    const all = Object.values(ids);
    let down = true;
    const channel = new InboxChannel<DigestDelivery>(() =>
      down ? { kind: 'channel-down', reply: '553 5.7.1 sender address rejected' } : undefined,
    );
    const engine = engineOver(channel);

    const r = await engine.sendBatch(all, { now });
    // A streak of channel-down outcomes stops the batch: a handful tried, not forty.
    expect(r.relayPaused).toBe(true);
    expect(r.relayDown).toBeGreaterThanOrEqual(5);
    expect(r.relayDown).toBeLessThan(40);
    expect(r.deferred).toHaveLength(r.relayDown);
    expect(r.relayDown + r.released).toBe(40);
    expect(r).toMatchObject({ sent: 0, relayReply: '553 5.7.1 sender address rejected' });
    expect(r.resumeAt).toBeInstanceOf(Date);
    const owed = async () =>
      (
        await h.services.db.query(
          `SELECT status, count(*)::int AS n, max(attempts)::int AS attempts, sum(relay_failures)::int AS relay
             FROM deliveries WHERE id = ANY($1) GROUP BY status`,
          [all],
        )
      ).rows;
    expect(await owed()).toEqual([{ status: 'queued', n: 40, attempts: 0, relay: r.relayDown }]);
    expect(await h.services.breaker.state()).toMatchObject({
      status: 'refusing',
      reply: '553 5.7.1 sender address rejected',
    });

    // The breaker is open for every sender: another batch tries the channel once at most (a probe,
    // if its time has come) and leaves the rest owed.
    const triedBefore = channel.tried.length;
    expect(await engine.sendBatch(all, { now })).toMatchObject({ sent: 0, relayPaused: true });
    expect(channel.tried.length - triedBefore).toBeLessThanOrEqual(1);

    // The channel is back: the next batch past the probe time probes, and sends everything once.
    down = false;
    await eventually(async () => {
      const state = await h.services.breaker.state();
      if (state.status === 'refusing') expect(state.nextProbeAt.getTime()).toBeLessThan(Date.now());
    });
    expect(await engine.sendBatch(all, { now })).toMatchObject({ sent: 40, relayDown: 0, released: 0 });
    expect(await h.services.breaker.state()).toEqual({ status: 'accepting' });
    expect(await owed()).toEqual([{ status: 'sent', n: 40, attempts: 1, relay: expect.any(Number) }]);
    for (const id of all) expect(channel.taken(id), String(id)).toHaveLength(1);
  });
});
