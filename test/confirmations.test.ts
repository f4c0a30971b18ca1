import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, parse, runCli, settled } from './support/harness.ts';

const PASSWORD = 'confirmations-admin-password';
const AS_ADMIN = { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };
const CONFIRM_SUBJECT = 'Confirm your Paperboy subscription';

/** A subscriber's raw row, checked field by field by the tests. */
const subscriberRow = async (h: Harness, email: string) =>
  // biome-ignore lint/suspicious/noExplicitAny: a raw row, checked field by field
  (await h.services.db.query<any>('SELECT * FROM subscribers WHERE email = $1', [email])).rows[0];

const signup = async (h: Harness, email: string) => {
  const res = await h.app.inject({ method: 'POST', url: '/api/subscriptions', payload: { email } });
  expect(res.statusCode).toBe(202);
};

/** Runs the sweeper as the scheduler would, once its wait has passed since the previous sweep. */
const sweepLater = (h: Harness, limit?: number) => {
  h.clock.set(new Date(h.clock.now().getTime() + (h.config.sweepAfterSeconds + 1) * 1000).toISOString());
  return h.services.signups.sweepUnsent(h.clock.now(), h.config.sweepAfterSeconds, limit);
};

/** Signs an address up while the workers are stopped, then loses its job, as a flushed Redis would. */
async function signupWithLostJob(h: Harness, email: string) {
  await h.stopWorkers();
  await signup(h, email);
  await h.services.queues.get('mail').obliterate({ force: true });
  h.startWorkers();
}

/** Each confirmation is owed once: sent, or given up for a reason recorded on the subscriber. */
describe('confirmations the server will not take', () => {
  let h: Harness;
  let relayDown = false;
  const greylisted = new Set<string>();
  /** RCPT TO commands the sink answered, per recipient: every try that reached the recipient. */
  const tries = new Map<string, number>();

  beforeAll(async () => {
    h = await createHarness({
      env: { ADMIN_PASSWORD: PASSWORD },
      reject: (rcpt) => {
        tries.set(rcpt, (tries.get(rcpt) ?? 0) + 1);
        if (rcpt.startsWith('gone')) return { code: 550, message: '5.1.1 No such user here' };
        if (rcpt.startsWith('stuck')) return { code: 550, message: '5.7.1 Recipient refused by policy' };
        if (greylisted.has(rcpt)) return { code: 451, message: '4.7.1 Greylisted, try again later' };
        return undefined;
      },
      refuseSender: () => (relayDown ? { code: 553, message: '5.7.1 Sender address rejected' } : undefined),
      refuseMessage: (to) =>
        to.some((r) => r.startsWith('filtered')) ? { code: 554, message: '5.7.1 Message content rejected' } : undefined,
    });
    h.startWorkers();
  });
  afterAll(async () => h?.close());

  const givenUpOnAdminPage = async () => {
    const res = await h.app.inject({ method: 'GET', url: '/admin', headers: AS_ADMIN });
    expect(res.statusCode).toBe(200);
    const m = /id="confirmations-given-up">(\d+)</.exec(res.body);
    if (!m) throw new Error('no given-up count on /admin');
    return Number(m[1]);
  };

  it('gives up a confirmation refused for its content or its address, records the reply, and never sweeps it', async () => {
    await signup(h, 'filtered@example.org');
    await signup(h, 'gone@example.org');
    await settled(h, 'mail');
    expect(await subscriberRow(h, 'filtered@example.org')).toMatchObject({
      status: 'pending',
      confirm_sent_at: null,
      confirm_given_up_at: expect.any(Date),
      confirm_last_error: expect.stringContaining('554 5.7.1 Message content rejected'),
    });
    expect(await subscriberRow(h, 'gone@example.org')).toMatchObject({
      status: 'bounced',
      confirm_given_up_at: expect.any(Date),
      confirm_last_error: expect.stringContaining('550 5.1.1 No such user here'),
    });
    expect(await givenUpOnAdminPage()).toBe(2);

    for (let i = 0; i < 3; i++) expect(await sweepLater(h)).toBe(0);
    await settled(h, 'mail');
    expect(tries.get('filtered@example.org')).toBe(1);
    expect(tries.get('gone@example.org')).toBe(1);
    expect(h.sink.to('filtered@example.org')).toHaveLength(0);

    const show = await runCli(['subscriber', 'show', '--email', 'filtered@example.org'], h.env);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/confirmation given up \S+: 554 5\.7\.1 Message content rejected/);
  });

  it('owes the confirmation again once the suppression is lifted; a signup for the bounced address changes nothing', async () => {
    const lifted = await h.services.suppressions.lift({ email: 'gone@example.org' });
    expect(lifted).toEqual([expect.objectContaining({ email: 'gone@example.org', status: 'pending' })]);
    expect((await subscriberRow(h, 'gone@example.org')).confirm_given_up_at).toBeNull();
    // The sweeper tries it again (and the sink, still saying it is unknown, has it suppressed again).
    expect(await sweepLater(h)).toBe(1);
    await settled(h, 'mail');
    expect(tries.get('gone@example.org')).toBe(2);
    expect(await subscriberRow(h, 'gone@example.org')).toMatchObject({
      status: 'bounced',
      confirm_given_up_at: expect.any(Date),
    });

    // Signing the bounced address up again changes nothing and sends nothing.
    const bounced = await subscriberRow(h, 'gone@example.org');
    await signup(h, 'gone@example.org');
    await settled(h, 'mail');
    expect(await subscriberRow(h, 'gone@example.org')).toEqual(bounced);
    for (let i = 0; i < 3; i++) expect(await sweepLater(h)).toBe(0);
    await settled(h, 'mail');
    expect(tries.get('gone@example.org')).toBe(2);
  });

  it('gives up after five rounds of temporary refusals, and the sweeper then leaves it', async () => {
    greylisted.add('grey@example.org');
    await signupWithLostJob(h, 'grey@example.org');
    for (let round = 1; round <= 5; round++) {
      expect(await sweepLater(h)).toBe(1);
      await settled(h, 'mail');
      expect(tries.get('grey@example.org')).toBe(round);
      expect(await subscriberRow(h, 'grey@example.org')).toMatchObject({
        confirm_attempts: round,
        confirm_last_error: expect.stringContaining('451 4.7.1 Greylisted'),
        confirm_given_up_at: round < 5 ? null : expect.any(Date),
      });
    }
    for (let i = 0; i < 3; i++) expect(await sweepLater(h)).toBe(0);
    await settled(h, 'mail');
    expect(tries.get('grey@example.org')).toBe(5);
    // A new signup starts over, and goes out once the server takes it.
    greylisted.delete('grey@example.org');
    await signup(h, 'grey@example.org');
    await settled(h, 'mail');
    expect(h.sink.to('grey@example.org')).toHaveLength(1);
    expect(await subscriberRow(h, 'grey@example.org')).toMatchObject({
      confirm_sent_at: expect.any(Date),
      confirm_attempts: 0,
      confirm_given_up_at: null,
    });
  });

  it('does not count relay failures: the confirmation stays owed past the bound and goes out once the relay is back', async () => {
    relayDown = true;
    await signupWithLostJob(h, 'patient@example.org');
    for (let round = 1; round <= 7; round++) {
      expect(await sweepLater(h)).toBe(1);
      await settled(h, 'mail');
    }
    expect(await subscriberRow(h, 'patient@example.org')).toMatchObject({
      status: 'pending',
      confirm_sent_at: null,
      confirm_attempts: 0,
      confirm_given_up_at: null,
      confirm_last_error: expect.stringContaining('553 5.7.1 Sender address rejected'),
    });
    expect(h.sink.to('patient@example.org')).toHaveLength(0);
    relayDown = false;
    expect(await sweepLater(h)).toBe(1);
    await settled(h, 'mail');
    expect(h.sink.to('patient@example.org')).toHaveLength(1);
    expect((await parse(h.sink.to('patient@example.org')[0]!)).subject).toBe(CONFIRM_SUBJECT);
    expect(await sweepLater(h)).toBe(0);
  });

  it('reaches a new owed confirmation behind a thousand it cannot deliver, a hundred per sweep', async () => {
    const stuck = 1000;
    const limit = 100;
    const givenUpBefore = await givenUpOnAdminPage();
    // Owed confirmations from before: pending, never sent, their jobs long gone; the server refuses them all.
    await h.services.db.query(
      `INSERT INTO subscribers (email, status, created_at, updated_at)
       SELECT 'stuck' || g || '@example.org', 'pending', now() - interval '1 day', now() - interval '1 day'
         FROM generate_series(1, $1::integer) g`,
      [stuck],
    );
    await signupWithLostJob(h, 'newcomer@example.org');

    // Only the sweeper can send it now; it gets there within one pass over the rows ahead of it.
    for (let sweep = 0; sweep < stuck / limit + 1; sweep++) await sweepLater(h, limit);
    await h.sink.waitFor((m) => m.to.includes('newcomer@example.org'));
    await settled(h, 'mail');
    expect(h.sink.to('newcomer@example.org')).toHaveLength(1);

    // Each stuck row was tried once, then given up: the sweeper has nothing left to take.
    const triedStuck = [...tries].filter(([rcpt]) => rcpt.startsWith('stuck'));
    expect(triedStuck).toHaveLength(stuck);
    expect(triedStuck.every(([, n]) => n === 1)).toBe(true);
    expect(await givenUpOnAdminPage()).toBe(givenUpBefore + stuck);
    expect(await sweepLater(h, limit)).toBe(0);
  });
});

/**
 * A slow relay (SMTP_RATE_PER_SECOND) keeps signups' mail waiting in the queue for longer than the
 * sweeper's wait: the sweeper must leave those confirmations to their jobs.
 */
describe('confirmations waiting in a slow queue', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ env: { SMTP_RATE_PER_SECOND: '10', SWEEP_AFTER_SECONDS: '1' } });
    h.startWorkers();
  });
  afterAll(async () => h?.close());

  it('sends each signup one confirmation while the sweeper runs over the backlog', async () => {
    const emails = Array.from({ length: 40 }, (_, i) => `queued${i}@example.org`);
    // Waves of signups: several batch jobs, the later ones waiting behind the earlier.
    for (let i = 0; i < emails.length; i += 8) {
      await Promise.all(emails.slice(i, i + 8).map((e) => signup(h, e)));
    }
    const mail = h.services.queues.get('mail');
    const busy = async () =>
      Object.values(await mail.getJobCounts('waiting', 'active', 'delayed', 'prioritized')).reduce((a, b) => a + b, 0);
    let sweepsOverBacklog = 0;
    let queuedBySweeper = 0;
    while ((await busy()) > 0) {
      const unsent = (
        await h.services.db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM subscribers WHERE status = 'pending' AND confirm_sent_at IS NULL",
        )
      ).rows[0]?.n;
      if (unsent) sweepsOverBacklog++;
      queuedBySweeper += await sweepLater(h);
      await new Promise((r) => setTimeout(r, 100)); // pace the sweeps; the loop ends when the queue is empty
    }
    await settled(h, 'mail');
    // The sweeper ran while confirmations were still waiting, and queued none of them again.
    expect(sweepsOverBacklog).toBeGreaterThan(1);
    expect(queuedBySweeper).toBe(0);
    for (const e of emails) expect(h.sink.to(e), e).toHaveLength(1);
  });

  it('reaches a confirmation whose job was lost behind many still waiting, and leaves those to their jobs', async () => {
    // No worker takes anything meanwhile: every earlier job waits, as behind a stalled relay.
    await h.stopWorkers();
    const waiting = Array.from({ length: 30 }, (_, i) => `waiting${i}@example.org`);
    for (let i = 0; i < waiting.length; i += 6) {
      await Promise.all(waiting.slice(i, i + 6).map((e) => signup(h, e)));
    }
    await signup(h, 'lost@example.org');
    const lostId = (await subscriberRow(h, 'lost@example.org')).id;
    const lostJob = (await h.services.queues.get('mail').getJobs(['waiting'])).find((j) =>
      j.data.subscriberIds.includes(lostId),
    );
    expect(lostJob?.data.subscriberIds).toEqual([lostId]);
    await lostJob?.remove();

    const limit = 5;
    let queued = 0;
    for (let sweep = 0; sweep < waiting.length / limit + 1; sweep++) queued += await sweepLater(h, limit);
    expect(queued).toBe(1);
    h.startWorkers();
    await settled(h, 'mail');
    for (const e of [...waiting, 'lost@example.org']) expect(h.sink.to(e), e).toHaveLength(1);
  });
});
