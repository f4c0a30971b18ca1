import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignupInput } from '../services/subscribers/signup.ts';
import {
  createHarness,
  eventually,
  type Harness,
  linkIn,
  parse,
  pathOf,
  settled,
  subscribeAndConfirm,
} from './support/harness.ts';

const json = { 'content-type': 'application/json' };
const form = { 'content-type': 'application/x-www-form-urlencoded' };
/** A subscriber's raw row, checked field by field by the tests. */
const subscriberRow = async (h: Harness, email: string) =>
  // biome-ignore lint/suspicious/noExplicitAny: a raw row, checked field by field
  (await h.services.db.query<any>('SELECT * FROM subscribers WHERE email = $1', [email])).rows[0];

describe('subscriptions', () => {
  let h: Harness;
  const bounces = new Set<string>();

  beforeAll(async () => {
    h = await createHarness({
      // These tests move the clock over months; the seed papers stay eligible all that time.
      env: { BLOCKED_EMAIL_DOMAINS: 'mailinator.com, Wegwerf-Bücher.example', RANK_WINDOW_DAYS: '365' },
      reject: (rcpt) => (bounces.has(rcpt) ? { code: 550, message: '5.1.1 No such user' } : undefined),
    });
    h.startWorkers();
  });
  afterAll(async () => h?.close());

  const db = () => h.services.db;
  const row = (email: string) => subscriberRow(h, email);
  const signup = (payload: object, remoteAddress = '127.0.0.1') =>
    h.app.inject({ method: 'POST', url: '/api/subscriptions', payload, remoteAddress });
  const mailsTo = (email: string) => h.sink.to(email);
  const lastMail = async (email: string) => parse(mailsTo(email).at(-1)!);
  const waitForMails = (email: string, n: number) => eventually(async () => expect(mailsTo(email).length).toBe(n));
  /** The manage link from the newest mail to `email`. */
  const manageLink = async (email: string) => pathOf(linkIn(await lastMail(email), '/manage/'));
  /**
   * A confirmed subscriber's manage link before any digest: signing up again mails it (the
   * confirmation mail carries none).
   */
  const manageLinkBySignup = async (email: string) => {
    const before = mailsTo(email).length;
    await signup({ email });
    await waitForMails(email, before + 1);
    return manageLink(email);
  };

  describe('double opt-in', () => {
    it('expires confirmation links after the configured time; a new signup sends a fresh one', async () => {
      h.clock.set('2026-04-01T10:00:00Z');
      await signup({ email: 'slow@example.org' });
      await waitForMails('slow@example.org', 1);
      const stale = pathOf(linkIn(await lastMail('slow@example.org'), '/confirm/'));

      h.clock.set('2026-04-08T10:00:01Z'); // 7 days and a second later
      const expired = await h.app.inject({ method: 'GET', url: stale });
      expect(expired.statusCode).toBe(400);
      expect(expired.body).toContain('This link has expired');
      expect((await row('slow@example.org')).status).toBe('pending');

      await signup({ email: 'slow@example.org' });
      await waitForMails('slow@example.org', 2);
      const fresh = await h.app.inject({
        method: 'POST',
        url: pathOf(linkIn(await lastMail('slow@example.org'), '/confirm/')),
      });
      expect(fresh.body).toContain('You are subscribed');
      expect((await row('slow@example.org')).status).toBe('active');
    });
  });

  describe('no enumeration', () => {
    it('answers a new, pending, active and unsubscribed address identically', async () => {
      await subscribeAndConfirm(h, 'known@example.org');
      await signup({ email: 'waiting@example.org' });
      await subscribeAndConfirm(h, 'gone@example.org');
      await waitForMails('gone@example.org', 1);
      await h.app.inject({ method: 'POST', url: `${await manageLinkBySignup('gone@example.org')}/unsubscribe` });
      expect((await row('gone@example.org')).status).toBe('unsubscribed');

      const answers = await Promise.all(
        ['brand-new@example.org', 'waiting@example.org', 'known@example.org', 'gone@example.org'].map(async (email) => {
          const res = await signup({ email });
          return { status: res.statusCode, body: res.body, type: res.headers['content-type'] };
        }),
      );
      for (const a of answers) expect(a).toEqual(answers[0]);
      expect(answers[0]?.status).toBe(202);
      await waitForMails('known@example.org', 2); // its confirmation, then the reminder
    });

    it('mails an active subscriber who signs up again their preferences link, without a second subscription', async () => {
      const before = mailsTo('known@example.org').length;
      await signup({ email: 'KNOWN@example.org', hour: 3, topics: ['hijack'] });
      await waitForMails('known@example.org', before + 1);
      const mail = await lastMail('known@example.org');
      expect(mail.subject).toBe('You are already subscribed to Paperboy');
      expect(linkIn(mail, '/manage/')).toBeTruthy();
      const { rows } = await db().query("SELECT count(*)::int AS n FROM subscribers WHERE email = 'known@example.org'");
      expect(rows[0]?.n).toBe(1);
      expect(await row('known@example.org')).toMatchObject({ status: 'active', send_hour: 8, topics: [] });
    });
  });

  describe('preferences', () => {
    const email = 'prefs@example.org';
    let manage = '';

    beforeAll(async () => {
      h.clock.set('2026-05-04T10:00:00Z'); // a Monday
      await subscribeAndConfirm(h, email);
      manage = await manageLinkBySignup(email);
    });

    it('shows a page with the current preferences behind the link in every mail', async () => {
      const res = await h.app.inject({ method: 'GET', url: manage });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain(`${email} · active`);
      expect(res.body).toContain('<option value="8" selected>08:00</option>');
      expect(res.body).toContain('name="timezone" value="UTC"');
    });

    it('saves preferences from the form and moves the next digest to the new schedule', async () => {
      const res = await h.app.inject({
        method: 'POST',
        url: manage,
        headers: form,
        payload: 'topics=LoRA%2C+diffusion&frequency=weekly&weekday=3&hour=6&timezone=Asia%2FTokyo&maxPapers=4',
      });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('Preferences saved.');
      const s = await row(email);
      expect(s).toMatchObject({
        topics: ['lora', 'diffusion'],
        frequency: 'weekly',
        send_weekday: 3,
        send_hour: 6,
        timezone: 'Asia/Tokyo',
        max_papers: 4,
      });
      // Wednesday 6 May, 06:00 in Tokyo.
      expect(s.next_send_at.toISOString()).toBe('2026-05-05T21:00:00.000Z');
    });

    it('changes preferences through the API and rejects invalid ones without changing anything', async () => {
      const api = manage.replace('/manage/', '/api/subscription/');
      const ok = await h.app.inject({
        method: 'PATCH',
        url: api,
        headers: json,
        payload: { maxPapers: 12, frequency: 'daily' },
      });
      expect(ok.statusCode).toBe(200);
      expect(ok.json()).toMatchObject({
        email,
        status: 'active',
        preferences: { maxPapers: 12, frequency: 'daily', hour: 6 },
      });

      const before = await row(email);
      for (const payload of [
        { maxPapers: 26 },
        { hour: -1 },
        { timezone: 'Nowhere/City' },
        { frequency: 'monthly' },
        { topics: ['a\r\nb'] },
        { email: 'x@y.org' },
      ]) {
        const bad = await h.app.inject({ method: 'PATCH', url: api, headers: json, payload });
        expect(bad.statusCode, JSON.stringify(payload)).toBe(400);
        expect(bad.json()).toMatchObject({ error: 'invalid_request' });
      }
      expect(await row(email)).toEqual(before);
    });

    it('pauses (no digest) and resumes', async () => {
      const api = manage.replace('/manage/', '/api/subscription/');
      const paused = await h.app.inject({ method: 'POST', url: `${api}/pause` });
      expect(paused.json()).toMatchObject({ status: 'paused', nextDigestAt: null });
      await h.services.digests.runNow(new Date('2026-05-10T00:00:00Z'));
      expect(mailsTo(email).filter((m) => m.raw.includes('Message-ID: <digest.'))).toHaveLength(0);

      h.clock.set('2026-05-10T12:00:00Z');
      const resumed = await h.app.inject({ method: 'POST', url: `${manage}/resume` });
      expect(resumed.body).toContain('Digests resume');
      expect((await row(email)).next_send_at.toISOString()).toBe('2026-05-10T21:00:00.000Z');
    });

    it('unsubscribes and subscribes again from the page', async () => {
      const out = await h.app.inject({ method: 'POST', url: `${manage}/unsubscribe` });
      expect(out.body).toContain('You are unsubscribed');
      expect((await row(email)).status).toBe('unsubscribed');
      const back = await h.app.inject({ method: 'POST', url: `${manage}/resubscribe` });
      expect(back.body).toContain('You are subscribed again');
      expect((await row(email)).status).toBe('active');
    });

    it('refuses to pause what is not active, with a 409', async () => {
      const api = manage.replace('/manage/', '/api/subscription/');
      await h.app.inject({ method: 'POST', url: `${api}/unsubscribe` });
      const res = await h.app.inject({ method: 'POST', url: `${api}/pause` });
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ error: 'invalid_state' });
      await h.app.inject({ method: 'POST', url: `${api}/resubscribe` });
    });
  });

  describe('unsubscribe page', () => {
    it('offers to undo after unsubscribing, and undo restores the subscription', async () => {
      h.clock.set('2026-06-01T10:00:00Z');
      await subscribeAndConfirm(h, 'undo@example.org');
      await h.services.digests.runNow(new Date('2026-06-02T08:00:00Z'));
      const u = pathOf(linkIn(await lastMail('undo@example.org'), '/u/'));
      const done = await h.app.inject({ method: 'POST', url: u, headers: form, payload: '' });
      expect(done.statusCode).toBe(200);
      expect(done.body).toContain(`<form method="post" action="${u}/undo">`);
      expect((await row('undo@example.org')).status).toBe('unsubscribed');
      // The button carries what undoes this one unsubscribe; the URL alone does not.
      const undo = /name="undo" value="([^"]+)"/.exec(done.body)?.[1] as string;
      const undone = await h.app.inject({
        method: 'POST',
        url: `${u}/undo`,
        headers: form,
        payload: `undo=${encodeURIComponent(undo)}`,
      });
      expect(undone.body).toContain('You are subscribed again');
      expect((await row('undo@example.org')).status).toBe('active');
    });
  });

  describe('privacy', () => {
    const email = 'private@example.org';
    let manage = '';

    beforeAll(async () => {
      h.clock.set('2026-07-01T10:00:00Z');
      await subscribeAndConfirm(h, email, { topics: 'robotics' });
      await h.services.digests.runNow(new Date('2026-07-02T08:00:00Z'));
      manage = await manageLink(email);
    });

    it('exports everything stored about the subscriber as JSON', async () => {
      const res = await h.app.inject({
        method: 'GET',
        url: `${manage.replace('/manage/', '/api/subscription/')}/export`,
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-disposition']).toContain('attachment');
      const data = res.json();
      expect(data.subscriber).toMatchObject({ email, status: 'active', preferences: { topics: ['robotics'] } });
      expect(data.digests).toHaveLength(1);
      expect(data.digests[0]).toMatchObject({ digest_date: '2026-07-02', status: 'sent' });
      expect(data.digests[0].papers).toHaveLength(10);

      const page = await h.app.inject({ method: 'GET', url: `${manage}/export` });
      expect(JSON.parse(page.body).subscriber.email).toBe(email);
    });

    it('erases the subscriber, leaving only a hash that keeps a re-signup from being mailed by accident', async () => {
      const unsubscribe = pathOf(linkIn(await lastMail(email), '/u/'));
      const res = await h.app.inject({ method: 'POST', url: `${manage}/erase` });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('Everything is erased');
      expect(await row(email)).toBeUndefined();
      const { rows } = await db().query('SELECT * FROM suppressions');
      expect(JSON.stringify(rows)).not.toContain('private');
      expect(rows.some((r) => r.reason === 'erased')).toBe(true);
      const leftovers = await db().query(
        'SELECT count(*)::int AS n FROM deliveries d LEFT JOIN subscribers s ON s.id = d.subscriber_id WHERE s.id IS NULL',
      );
      expect(leftovers.rows[0]?.n).toBe(0);
      const papersLeft = await db().query(
        'SELECT count(*)::int AS n FROM delivery_papers dp LEFT JOIN deliveries d ON d.id = dp.delivery_id WHERE d.id IS NULL',
      );
      expect(papersLeft.rows[0]?.n).toBe(0);

      // Old links stop working: a clear 404 page, never a 500.
      const gone = await h.app.inject({ method: 'GET', url: manage });
      expect(gone.statusCode).toBe(404);
      expect(gone.body).toContain('This subscription no longer exists');
      const oneClick = await h.app.inject({
        method: 'POST',
        url: unsubscribe,
        headers: form,
        payload: 'List-Unsubscribe=One-Click',
      });
      expect(oneClick.statusCode).toBe(200);
    });

    it('lets an erased address sign up again, lifting the suppression once confirmed', async () => {
      h.clock.set('2026-07-03T10:00:00Z');
      await subscribeAndConfirm(h, email);
      const { rows } = await db().query("SELECT count(*)::int AS n FROM suppressions WHERE reason = 'erased'");
      expect(rows[0]?.n).toBe(0);
    });

    it('sends nothing to an address that bounced, even after a new signup', async () => {
      h.clock.set('2026-08-01T10:00:00Z');
      await subscribeAndConfirm(h, 'bouncy@example.org');
      bounces.add('bouncy@example.org');
      const r = await h.services.digests.runNow(new Date('2026-08-02T08:00:00Z'));
      expect(r.bounced).toBe(1);
      expect((await row('bouncy@example.org')).status).toBe('bounced');

      const mailed = mailsTo('bouncy@example.org').length;
      const res = await signup({ email: 'bouncy@example.org' });
      expect(res.statusCode).toBe(202);
      bounces.delete('bouncy@example.org');
      await settled(h, 'mail');
      expect((await row('bouncy@example.org')).status).toBe('bounced');
      expect(await h.services.signupMails.send((await row('bouncy@example.org')).id)).toBe('none');
      expect(mailsTo('bouncy@example.org')).toHaveLength(mailed);
    });
  });

  describe('abuse', () => {
    it('normalises international domains', async () => {
      await signup({ email: ' Ada@Bücher.Example ' });
      expect(await row('ada@xn--bcher-kva.example')).toBeDefined();
    });

    it('refuses configured domains and their subdomains', async () => {
      for (const email of ['x@mailinator.com', 'x@eu.mailinator.com', 'x@wegwerf-bücher.example']) {
        const res = await signup({ email });
        expect(res.statusCode, email).toBe(400);
        expect(res.json()).toMatchObject({ error: 'blocked_domain' });
      }
    });

    it('answers CR/LF in any field with a 400: no header can be injected', async () => {
      for (const payload of [
        { email: 'a@example.org\r\nBcc: victim@example.org' },
        { email: 'a@example.org', timezone: 'UTC\r\nX: y' },
        { email: 'a@example.org', topics: ['x\r\nSubject: spam'] },
        { email: 'a@example.org', frequency: 'daily\n' },
      ]) {
        expect((await signup(payload)).statusCode, JSON.stringify(payload)).toBe(400);
      }
    });
  });
});

describe('signup rate limits', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({
      env: { SIGNUP_LIMIT_PER_IP: '4', SIGNUP_LIMIT_PER_ADDRESS: '2', SIGNUP_LIMIT_WINDOW_SECONDS: '600' },
    });
    h.startWorkers();
  });
  afterAll(async () => h?.close());

  const signup = (email: string, remoteAddress: string) =>
    h.app.inject({ method: 'POST', url: '/api/subscriptions', payload: { email }, remoteAddress });

  it('limits signups per address with 429 and Retry-After, and mails at most that many times', async () => {
    expect((await signup('flood@example.org', '10.0.0.1')).statusCode).toBe(202);
    expect((await signup('flood@example.org', '10.0.0.2')).statusCode).toBe(202);
    const third = await signup('FLOOD@example.org', '10.0.0.3');
    expect(third.statusCode).toBe(429);
    expect(third.json()).toMatchObject({ error: 'rate_limited' });
    const retryAfter = Number(third.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(600);
    await eventually(async () => expect(h.sink.to('flood@example.org')).toHaveLength(2));
  });

  it('limits signups per IP while other IPs still sign up', async () => {
    const ip = '10.1.1.1';
    for (let i = 0; i < 4; i++) expect((await signup(`n${i}@example.org`, ip)).statusCode).toBe(202);
    const blocked = await signup('n4@example.org', ip);
    expect(blocked.statusCode).toBe(429);
    expect(blocked.headers['retry-after']).toBeDefined();
    expect((await signup('n4@example.org', '10.1.1.2')).statusCode).toBe(202);
  });

  it('answers the form with a 429 page', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/subscribe',
      headers: form,
      payload: 'email=flood%40example.org',
      remoteAddress: '10.2.2.2',
    });
    expect(res.statusCode).toBe(429);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toContain('Too many signups for this address');
  });
});

describe('signups in batches', () => {
  let h: Harness;
  const refuseOnce = new Set<string>();
  beforeAll(async () => {
    h = await createHarness({
      env: { SIGNUP_LIMIT_PER_ADDRESS: '2', SIGNUP_LIMIT_WINDOW_SECONDS: '600' },
      reject: (rcpt) => (refuseOnce.delete(rcpt) ? { code: 451, message: '4.3.0 Try again later' } : undefined),
    });
    h.startWorkers();
  });
  afterAll(async () => h?.close());

  // Calls made in the same turn of the event loop go to PostgreSQL and the queue as one batch.
  const together = (signups: Array<[object, string?]>) =>
    Promise.allSettled(
      signups.map(([body, ip]) => h.services.signups.signup(SignupInput.parse(body), ip ?? '10.9.0.1')),
    );
  const row = (email: string) => subscriberRow(h, email);
  const subjects = async (email: string) => Promise.all(h.sink.to(email).map(async (m) => (await parse(m)).subject));
  const signupJobs = async () =>
    (await h.services.queues.get('mail').getJobs(['completed', 'active', 'waiting', 'delayed'])).filter(
      (j) => j.name === 'signup',
    );

  it('records a batch in one statement and one job, each signup with its own answer', async () => {
    await subscribeAndConfirm(h, 'settled@example.org');
    const results = await together([
      [{ email: 'first@example.org', topics: ['lora'] }],
      [{ email: 'second@example.org', frequency: 'weekly', weekday: 5 }],
      [{ email: 'twice@example.org', hour: 5 }],
      [{ email: 'TWICE@example.org', hour: 6 }],
      [{ email: 'settled@example.org', hour: 3, topics: ['hijack'] }],
    ]);
    expect(results.map((r) => r.status)).toEqual(Array(5).fill('fulfilled'));

    expect(await row('first@example.org')).toMatchObject({ status: 'pending', topics: ['lora'] });
    expect(await row('second@example.org')).toMatchObject({ status: 'pending', frequency: 'weekly', send_weekday: 5 });
    // The same address twice in a batch is one row, and the first signup stands, as one after the
    // other would: a later signup never changes what an earlier one stored.
    const { rows } = await h.services.db.query("SELECT send_hour FROM subscribers WHERE email = 'twice@example.org'");
    expect(rows).toEqual([{ send_hour: 5 }]);
    // An active subscription in the batch keeps its preferences.
    expect(await row('settled@example.org')).toMatchObject({ status: 'active', send_hour: 8, topics: [] });

    const ids = await Promise.all(
      ['first', 'second', 'twice', 'settled'].map(async (n) => (await row(`${n}@example.org`)).id as number),
    );
    const jobs = (await signupJobs()).filter((j) => j.data.subscriberIds?.includes(ids[0]));
    expect(jobs.map((j) => [...j.data.subscriberIds].sort((a: number, b: number) => a - b))).toEqual([
      [...ids].sort((a, b) => a - b),
    ]);
    await eventually(async () => {
      expect(await subjects('first@example.org')).toEqual(['Confirm your Paperboy subscription']);
      expect(await subjects('second@example.org')).toEqual(['Confirm your Paperboy subscription']);
      expect(await subjects('twice@example.org')).toEqual(['Confirm your Paperboy subscription']);
      expect((await subjects('settled@example.org')).at(-1)).toBe('You are already subscribed to Paperboy');
    });
  });

  it('counts each signup of a batch against the limits in turn', async () => {
    const results = await together([
      [{ email: 'limited@example.org' }, '10.9.1.1'],
      [{ email: 'limited@example.org' }, '10.9.1.2'],
      [{ email: 'limited@example.org' }, '10.9.1.3'],
      [{ email: 'other@example.org' }, '10.9.1.4'],
    ]);
    expect(results.map((r) => (r.status === 'fulfilled' ? 202 : (r.reason as { status: number }).status))).toEqual([
      202, 202, 429, 202,
    ]);
    const [again] = await together([[{ email: 'limited@example.org' }, '10.9.1.5']]);
    expect(again?.status).toBe('rejected');
    // The batch's replies go out in one job, in no set order: count once it has ended.
    await settled(h, 'mail');
    expect(h.sink.to('other@example.org')).toHaveLength(1);
    // Two accepted signups for one address in one batch are one reply.
    expect(h.sink.to('limited@example.org')).toHaveLength(1);
  });

  it('sends the rest of a batch when one reply fails, and retries only that one', async () => {
    // The earlier tests' replies are counted when their jobs end, which can be after their mail
    // arrived: this test counts from a quiet queue.
    await settled(h, 'mail');
    const before = await h.services.counters.read();
    refuseOnce.add('flaky@example.org');
    const results = await together([
      [{ email: 'steady-1@example.org' }],
      [{ email: 'flaky@example.org' }],
      [{ email: 'steady-2@example.org' }],
    ]);
    expect(results.map((r) => r.status)).toEqual(Array(3).fill('fulfilled'));
    // The counter moves once a job run has finished its mails: three sent means the retry is done.
    await eventually(async () => {
      const now = await h.services.counters.read();
      expect((now.signup_mails_sent ?? 0) - (before.signup_mails_sent ?? 0)).toBe(3);
    });
    expect(refuseOnce.has('flaky@example.org')).toBe(false);
    for (const email of ['steady-1@example.org', 'flaky@example.org', 'steady-2@example.org']) {
      expect(h.sink.to(email)).toHaveLength(1);
    }
    const metrics = await h.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/^paperboy_mails\{kind="signup",status="failed"\} 0$/m);
  });
});

/** The replies to signups follow the same rules as digests: only a verdict on the address is about the address. */
describe('signup mails the server refuses', () => {
  let h: Harness;
  let senderRefused = false;
  beforeAll(async () => {
    h = await createHarness({
      reject: (rcpt) => (rcpt.startsWith('nobody') ? { code: 550, message: '5.1.1 No such user here' } : undefined),
      refuseSender: () => (senderRefused ? { code: 553, message: '5.7.1 Sender address rejected' } : undefined),
      refuseMessage: (to) =>
        to.some((r) => r.startsWith('filtered')) ? { code: 554, message: '5.7.1 Message content rejected' } : undefined,
    });
    h.startWorkers();
  });
  afterAll(async () => h?.close());

  const signup = async (email: string) => {
    const res = await h.app.inject({ method: 'POST', url: '/api/subscriptions', payload: { email } });
    expect(res.statusCode).toBe(202);
  };
  const suppressed = async (email: string) =>
    (await h.services.db.query('SELECT reason FROM suppressions WHERE email_hash = paperboy_email_hash($1)', [email]))
      .rows;

  it('suppresses an address the server says does not exist, and tries it once', async () => {
    const before = await h.services.counters.read();
    await signup('nobody@example.org');
    await settled(h, 'mail');
    expect(await subscriberRow(h, 'nobody@example.org')).toMatchObject({ status: 'bounced' });
    expect(await suppressed('nobody@example.org')).toEqual([{ reason: 'bounced' }]);
    const after = await h.services.counters.read();
    expect((after.signup_mails_failed ?? 0) - (before.signup_mails_failed ?? 0)).toBe(1);
    const jobs = await h.services.queues.get('mail').getJobs(['completed']);
    expect(jobs.filter((j) => j.attemptsMade > 1)).toHaveLength(0);
  });

  it('gives up a confirmation refused for its content, keeping the address', async () => {
    await signup('filtered@example.org');
    await settled(h, 'mail');
    expect(await subscriberRow(h, 'filtered@example.org')).toMatchObject({ status: 'pending' });
    expect(await suppressed('filtered@example.org')).toEqual([]);
    expect(h.sink.to('filtered@example.org')).toHaveLength(0);
  });

  it('retries while the relay refuses the sender, and sends one confirmation once it takes it', async () => {
    senderRefused = true;
    await signup('patient@example.org');
    await eventually(async () => {
      const jobs = await h.services.queues.get('mail').getJobs(['delayed']);
      expect(jobs.some((j) => j.attemptsMade >= 1)).toBe(true);
    });
    expect(await subscriberRow(h, 'patient@example.org')).toMatchObject({ status: 'pending' });
    senderRefused = false;
    await settled(h, 'mail');
    expect(h.sink.to('patient@example.org')).toHaveLength(1);
    expect(await suppressed('patient@example.org')).toEqual([]);
  });
});

describe('OpenAPI', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => h?.close());

  it('serves the document generated from the request schemas, and its viewer at /docs', async () => {
    const doc = (await h.app.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(doc.openapi).toMatch(/^3\./);
    const signup = doc.paths['/api/subscriptions'].post;
    const body = signup.requestBody.content['application/json'].schema;
    expect(body.required).toContain('email');
    expect(Object.keys(body.properties)).toEqual(
      expect.arrayContaining(['email', 'topics', 'timezone', 'hour', 'frequency', 'weekday', 'maxPapers']),
    );
    expect(Object.keys(signup.responses)).toEqual(expect.arrayContaining(['202', '400', '429']));
    expect(doc.paths['/api/subscription/{token}'].patch).toBeDefined();
    expect(doc.paths['/api/subscription/{token}'].delete).toBeDefined();
    expect(doc.paths['/manage/{token}']).toBeUndefined(); // pages are not API

    const viewer = await h.app.inject({ method: 'GET', url: '/docs/' });
    expect(viewer.statusCode).toBe(200);
    expect(viewer.body).toContain('swagger');
  });
});
