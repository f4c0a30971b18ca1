import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../services/api/app.ts';
import type { Config } from '../services/core/config.ts';
import { createSubscriberRepository } from '../services/subscribers/repository.ts';
import {
  createHarness,
  eventually,
  type Harness,
  linkIn,
  parse,
  pathOf,
  runCli,
  settled,
  subscribeAndConfirm,
} from './support/harness.ts';

/**
 * Abuse as an attacker sees it, from outside: requests with forged X-Forwarded-For headers and
 * spread over IPv6 networks, spellings of one mailbox, other people's addresses, and endpoints whose
 * cost an attacker would like to choose.
 */

const json = { 'content-type': 'application/json' };
type Inject = Harness['app'];

const signupOn = (app: Inject, email: string, remoteAddress: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/api/subscriptions', payload: { email }, remoteAddress, headers });

const accepted = (statuses: number[]) => statuses.filter((s) => s === 202).length;

/** Another api on the same services, trusting proxies differently: what TRUST_PROXY changes is the app. */
async function appTrusting(h: Harness, trustProxy: Config['trustProxy']) {
  return buildApp({ ...h.services, config: { ...h.services.config, trustProxy } });
}

describe('signup limits behind a proxy and on IPv6', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({
      env: {
        TRUST_PROXY: '1',
        SIGNUP_LIMIT_PER_IP: '3',
        SIGNUP_LIMIT_PER_ADDRESS: '2',
        SIGNUP_LIMIT_GLOBAL: '1000',
        SIGNUP_LIMIT_WINDOW_SECONDS: '600',
      },
    });
    h.startWorkers();
  });
  afterAll(async () => h?.close());

  const signup = (email: string, remoteAddress: string, headers?: Record<string, string>) =>
    signupOn(h.app, email, remoteAddress, headers);
  const row = async (email: string) =>
    (await h.services.db.query('SELECT email, status FROM subscribers WHERE email = $1', [email])).rows[0];

  it('counts the address the proxy saw, whatever X-Forwarded-For the client forged', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      // The client writes a new address for itself each time; the proxy appends the one it saw.
      const forged = `198.18.${i}.${i + 1}, 10.${i}.0.1`;
      const res = await signup(`forger${i}@example.org`, '127.0.0.1', { 'x-forwarded-for': `${forged}, 203.0.113.7` });
      statuses.push(res.statusCode);
    }
    expect(statuses).toEqual([202, 202, 202, 429, 429, 429, 429, 429, 429, 429]);
    await settled(h, 'mail');
    const mailed = h.sink.messages.filter((m) => m.to.some((t) => t.startsWith('forger'))).length;
    expect(mailed).toBe(3);
  });

  it('believes only the proxies it is told of when given their addresses', async () => {
    const app = await appTrusting(h, { proxies: ['10.0.0.0/8'] });
    try {
      // Through the listed proxy: the address it appended counts, not the forged ones before it.
      const viaProxy: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await signupOn(app, `listed${i}@example.org`, '10.1.2.3', {
          'x-forwarded-for': `192.0.2.${100 + i}, 203.0.113.20`,
        });
        viaProxy.push(res.statusCode);
      }
      expect(viaProxy).toEqual([202, 202, 202, 429, 429]);
      // Straight from a client that is no listed proxy: its own address counts, its header does not.
      const direct: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await signupOn(app, `direct${i}@example.org`, '198.51.100.30', {
          'x-forwarded-for': `192.0.2.${150 + i}`,
        });
        direct.push(res.statusCode);
      }
      expect(direct).toEqual([202, 202, 202, 429, 429]);
    } finally {
      await app.close();
    }
  });

  it('counts an IPv6 client by its /64, and an IPv4-mapped address as the IPv4 address', async () => {
    const spread: number[] = [];
    for (let i = 0; i < 8; i++) {
      const address = `2001:db8:77:1:${randomBytes(2).toString('hex')}:${i}:${randomBytes(2).toString('hex')}:1`;
      spread.push((await signup(`six${i}@example.org`, address)).statusCode);
    }
    expect(spread).toEqual([202, 202, 202, 429, 429, 429, 429, 429]);
    // The next /64 is someone else.
    expect((await signup('six-next@example.org', '2001:db8:77:2::1')).statusCode).toBe(202);

    const mapped = [
      await signup('four0@example.org', '198.51.100.77'),
      await signup('four1@example.org', '::ffff:198.51.100.77'),
      await signup('four2@example.org', '::ffff:c633:644d'),
      await signup('four3@example.org', '198.51.100.77'),
    ].map((r) => r.statusCode);
    expect(mapped).toEqual([202, 202, 202, 429]);
  });

  it('counts subaddresses and Gmail spellings as the mailbox they reach, and stores each as given', async () => {
    const tagged = [];
    for (const [i, email] of ['victim+1@example.org', 'victim+anything@example.org', 'victim@example.org'].entries()) {
      tagged.push((await signup(email, `192.0.2.${10 + i}`)).statusCode);
    }
    expect(tagged).toEqual([202, 202, 429]);
    expect(await row('victim+1@example.org')).toEqual({ email: 'victim+1@example.org', status: 'pending' });
    expect(await row('victim+anything@example.org')).toEqual({
      email: 'victim+anything@example.org',
      status: 'pending',
    });
    expect(await row('victim@example.org')).toBeUndefined();

    const gmail = [];
    for (const [i, email] of ['j.doe@gmail.com', 'JDoe+news@googlemail.com', 'j.d.o.e@gmail.com'].entries()) {
      gmail.push((await signup(email, `192.0.2.${20 + i}`)).statusCode);
    }
    expect(gmail).toEqual([202, 202, 429]);
    expect(await row('j.doe@gmail.com')).toBeDefined();
    expect(await row('jdoe+news@googlemail.com')).toBeDefined();
    // Each accepted signup is mailed at the address it gave.
    await settled(h, 'mail');
    expect(h.sink.to('victim+1@example.org')).toHaveLength(1);
    expect(h.sink.to('jdoe+news@googlemail.com')).toHaveLength(1);
    expect(h.sink.to('victim@example.org')).toHaveLength(0);
  });
});

describe('the ceiling on all signups', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({
      env: {
        SIGNUP_LIMIT_PER_IP: '2',
        SIGNUP_LIMIT_PER_ADDRESS: '2',
        SIGNUP_LIMIT_GLOBAL: '5',
        SIGNUP_LIMIT_WINDOW_SECONDS: '600',
      },
    });
    h.startWorkers();
  });
  afterAll(async () => h?.close());

  it('caps what any spread of networks can make Paperboy send', async () => {
    // One /48 split into /64s, and IPv4 addresses: every one a network of its own.
    const addresses = [
      ...Array.from({ length: 10 }, (_, i) => `2001:db8:99:${i.toString(16)}::1`),
      ...Array.from({ length: 10 }, (_, i) => `203.0.113.${i + 1}`),
    ];
    const answers = [];
    for (const [i, address] of addresses.entries()) {
      answers.push(await signupOn(h.app, `spread${i}@example.org`, address));
    }
    expect(accepted(answers.map((a) => a.statusCode))).toBe(5);
    const refused = answers.find((a) => a.statusCode === 429);
    expect(refused?.json()).toMatchObject({
      error: 'rate_limited',
      message: expect.stringMatching(/too many signups/),
    });
    expect(Number(refused?.headers['retry-after'])).toBeGreaterThan(0);
    await settled(h, 'mail');
    expect(h.sink.messages).toHaveLength(5);
  });

  it('spends the ceiling only on signups the other limits let through', async () => {
    // A flood from one network past its own limit: its refused signups leave the ceiling alone,
    // so it does not lock everyone else out sooner.
    const { rows } = await h.services.db.query<{ n: number }>('SELECT count(*)::int AS n FROM subscribers');
    expect(rows[0]?.n).toBe(5);
    for (let i = 0; i < 5; i++) {
      expect((await signupOn(h.app, `again${i}@example.org`, '203.0.113.1')).statusCode).toBe(429);
    }
    const { rows: after } = await h.services.db.query<{ n: number }>('SELECT count(*)::int AS n FROM subscribers');
    expect(after[0]?.n).toBe(5);
  });
});

/** A signup anyone can make for anyone's address never changes the subscriber behind it. */
describe('a signup for an existing address', () => {
  let h: Harness;
  const repo = () => createSubscriberRepository(h.services.db);
  const STRANGER = {
    hour: 3,
    timezone: 'Asia/Tokyo',
    maxPapers: 1,
    topics: ['hijack'],
    frequency: 'weekly',
    weekday: 5,
  };

  beforeAll(async () => {
    h = await createHarness();
    h.startWorkers();
  });
  afterAll(async () => h?.close());

  /** What a subscriber is, as far as anyone else may change it. */
  const state = async (email: string) =>
    (
      await h.services.db.query(
        `SELECT status, timezone, send_hour, frequency, send_weekday, max_papers, topics, next_send_at,
                confirmed_at, unsubscribed_at, paused_at, created_at
           FROM subscribers WHERE email = $1`,
        [email],
      )
    ).rows[0];
  /**
   * An active subscriber's own preferences link (the API form of it): signing up again mails it
   * to them, as the confirmation mail carries none.
   */
  const manageApi = async (email: string) => {
    const before = h.sink.to(email).length;
    await h.app.inject({ method: 'POST', url: '/api/subscriptions', payload: { email } });
    await eventually(async () => expect(h.sink.to(email)).toHaveLength(before + 1));
    const link = linkIn(await parse(h.sink.to(email).at(-1)!), '/manage/');
    return pathOf(link).replace('/manage/', '/api/subscription/');
  };
  /** Follows a confirmation link as its reader does: the page, then its button. */
  const confirmVia = async (link: string) => {
    const page = await h.app.inject({ method: 'GET', url: pathOf(link) });
    expect(page.body).toContain('Yes, send me papers');
    return h.app.inject({ method: 'POST', url: pathOf(link) });
  };
  const subjects = async (email: string) => Promise.all(h.sink.to(email).map(async (m) => (await parse(m)).subject));
  const strangerSignsUp = async (email: string) => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/subscriptions',
      headers: json,
      payload: { email, ...STRANGER },
    });
    expect(res.statusCode).toBe(202);
  };

  it('changes nothing, whatever the status; the owner is told, and a return waits for the owner', async () => {
    const own = { hour: 7, timezone: 'Europe/Berlin', maxPapers: 5, topics: ['lora'] };
    // pending: signed up, not confirmed.
    await h.app.inject({
      method: 'POST',
      url: '/api/subscriptions',
      payload: { email: 'pending@example.org', ...own },
    });
    await eventually(async () => expect(h.sink.to('pending@example.org')).toHaveLength(1));
    // active, paused, unsubscribed: confirmed, then as they chose through their own links.
    for (const email of ['active@example.org', 'paused@example.org', 'left@example.org', 'bounced@example.org']) {
      await subscribeAndConfirm(h, email, own);
    }
    await h.app.inject({ method: 'POST', url: `${await manageApi('paused@example.org')}/pause` });
    await h.app.inject({ method: 'POST', url: `${await manageApi('left@example.org')}/unsubscribe` });
    // bounced: the provider reported the address gone.
    await repo().suppress('bounced@example.org', 'bounced', 'reported by the provider');
    await settled(h, 'mail');

    const emails = ['pending', 'active', 'paused', 'left', 'bounced'].map((s) => `${s}@example.org`);
    const before = await Promise.all(emails.map(state));
    expect(before.map((s) => s?.status)).toEqual(['pending', 'active', 'paused', 'unsubscribed', 'bounced']);
    const mailsBefore = emails.map((e) => h.sink.to(e).length);

    for (const email of emails) await strangerSignsUp(email);
    await settled(h, 'mail');

    expect(await Promise.all(emails.map(state))).toEqual(before);
    const newMail = async (email: string, i: number) => (await subjects(email)).slice(mailsBefore[i]);
    expect(await newMail('pending@example.org', 0)).toEqual(['Confirm your Paperboy subscription']);
    expect(await newMail('active@example.org', 1)).toEqual(['You are already subscribed to Paperboy']);
    expect(await newMail('paused@example.org', 2)).toEqual(['You are already subscribed to Paperboy']);
    expect(await newMail('left@example.org', 3)).toEqual(['Confirm your Paperboy subscription']);
    expect(await newMail('bounced@example.org', 4)).toEqual([]);
    const paused = await parse(h.sink.to('paused@example.org').at(-1)!);
    expect(paused.text).toContain('Your subscription is paused and unchanged');
    // The return's confirmation says what confirming sets: what the signup asked for.
    const back = await parse(h.sink.to('left@example.org').at(-1)!);
    expect(back.text).toContain('every Friday at 03:00 Asia/Tokyo');

    // The pending address's link confirms what is stored: its own signup's preferences.
    const pendingLink = linkIn(await parse(h.sink.to('pending@example.org').at(-1)!), '/confirm/');
    expect((await confirmVia(pendingLink)).body).toContain('You are subscribed');
    expect(await state('pending@example.org')).toMatchObject({
      status: 'active',
      send_hour: 7,
      timezone: 'Europe/Berlin',
      max_papers: 5,
      topics: ['lora'],
    });

    // The one who left comes back only by following the link, with what that mail described.
    expect((await confirmVia(linkIn(back, '/confirm/'))).body).toContain('You are subscribed');
    expect(await state('left@example.org')).toMatchObject({
      status: 'active',
      send_hour: 3,
      timezone: 'Asia/Tokyo',
      frequency: 'weekly',
      send_weekday: 5,
      max_papers: 1,
      topics: ['hijack'],
    });
  });

  it('keeps the first request to come back: a later signup cannot change what the link confirms', async () => {
    await subscribeAndConfirm(h, 'twice@example.org', { hour: 9 });
    await h.app.inject({ method: 'POST', url: `${await manageApi('twice@example.org')}/unsubscribe` });
    await h.app.inject({ method: 'POST', url: '/api/subscriptions', payload: { email: 'twice@example.org', hour: 6 } });
    await settled(h, 'mail');
    const first = await parse(h.sink.to('twice@example.org').at(-1)!);
    await strangerSignsUp('twice@example.org');
    await settled(h, 'mail');
    const second = await parse(h.sink.to('twice@example.org').at(-1)!);
    for (const mail of [first, second]) expect(mail.text).toContain('every day at 06:00 UTC');
    expect(await state('twice@example.org')).toMatchObject({ status: 'unsubscribed', send_hour: 9 });
    // An operator sees the request waiting.
    const shown = await runCli(['subscriber', 'show', '--email', 'twice@example.org'], h.env);
    expect(shown.stdout).toContain('twice@example.org: unsubscribed');
    expect(shown.stdout).toContain('a signup asks to come back, once confirmed: daily at 06:00 UTC, 10 papers');
    await confirmVia(linkIn(first, '/confirm/'));
    expect(await state('twice@example.org')).toMatchObject({ status: 'active', send_hour: 6, max_papers: 10 });
  });

  it("comes back with what the owner chose on their own page after the signup, not the signup's", async () => {
    await subscribeAndConfirm(h, 'editor@example.org', { hour: 9 });
    const api = await manageApi('editor@example.org');
    await h.app.inject({ method: 'POST', url: `${api}/unsubscribe` });
    await strangerSignsUp('editor@example.org');
    await settled(h, 'mail');
    const asked = await parse(h.sink.to('editor@example.org').at(-1)!);
    const edited = await h.app.inject({ method: 'PATCH', url: api, headers: json, payload: { hour: 20, topics: [] } });
    expect(edited.json()).toMatchObject({ status: 'unsubscribed', preferences: { hour: 20 } });
    await confirmVia(linkIn(asked, '/confirm/'));
    expect(await state('editor@example.org')).toMatchObject({ status: 'active', send_hour: 20, topics: [] });
  });

  it('drops a pending return when the owner comes back through their own link, and sends nothing more', async () => {
    await subscribeAndConfirm(h, 'owner@example.org', { hour: 10 });
    const api = await manageApi('owner@example.org');
    await h.app.inject({ method: 'POST', url: `${api}/unsubscribe` });
    await strangerSignsUp('owner@example.org');
    await settled(h, 'mail');
    const asked = await parse(h.sink.to('owner@example.org').at(-1)!);
    expect((await h.app.inject({ method: 'POST', url: `${api}/resubscribe` })).statusCode).toBe(200);
    expect(await state('owner@example.org')).toMatchObject({ status: 'active', send_hour: 10, topics: [] });
    // The stranger's return is moot: its link no longer changes anything, nor does the sweeper owe it.
    const link = await h.app.inject({ method: 'POST', url: pathOf(linkIn(asked, '/confirm/')) });
    expect(link.body).toContain('Already confirmed');
    expect(await state('owner@example.org')).toMatchObject({ status: 'active', send_hour: 10, topics: [] });
    expect(await h.services.signups.sweepUnsent(new Date(Date.now() + 3_600_000), 0)).toBe(0);
  });
});

describe('work per request', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => h?.close());

  it('opens no SMTP session per /readyz: one check serves calls for a while', async () => {
    const first = await h.app.inject({ method: 'GET', url: '/readyz' });
    expect(first.json()).toMatchObject({ status: 'ready', checks: { smtp: 'ok' } });
    const before = h.sink.sessions;
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => h.app.inject({ method: 'GET', url: '/readyz' })),
    );
    for (const a of answers) expect(a.json()).toMatchObject({ status: 'ready', checks: { smtp: 'ok' } });
    expect(h.sink.sessions - before).toBe(0);
    expect(before).toBeLessThanOrEqual(1);
  });

  it('reads a large deliveries table from its statistics, counting only what is still owed', async () => {
    // 120,000 deliveries to 5,000 readers who have since left, most long sent, 37 still owed:
    // past the size where /metrics counts rows.
    await h.services.db.query(
      `INSERT INTO subscribers (email, status)
       SELECT 'past' || i || '@example.org', 'unsubscribed' FROM generate_series(1, 5000) AS i`,
    );
    const { rows } = await h.services.db.query<{ id: number }>('SELECT min(id)::int AS id FROM subscribers');
    const first = rows[0]?.id as number;
    await h.services.db.query(
      `INSERT INTO deliveries (subscriber_id, digest_date, status, due_at, claimed_at, sent_at, message_id)
       SELECT $1::bigint + i % 5000, date '2020-01-01' + i / 5000,
              CASE WHEN i <= 37 THEN 'queued' WHEN i % 10 = 0 THEN 'skipped' ELSE 'sent' END,
              now(), now() - interval '3 seconds', now() - interval '1 second',
              CASE WHEN i > 37 AND i % 10 <> 0 THEN '<digest.' || i || '@paperboy.test>' END
         FROM generate_series(1, 120000) AS i`,
      [first],
    );
    await h.services.db.query('ANALYZE deliveries');
    const body = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(body)?.[1]);
    expect(value('paperboy_counts_estimated\\{table="deliveries"\\}')).toBe(1);
    expect(value('paperboy_counts_estimated\\{table="subscribers"\\}')).toBe(0);
    expect(value('paperboy_deliveries\\{status="queued"\\}')).toBe(37);
    // The sample's shares times the row estimate: near the truth (107,966 sent, 11,997 skipped).
    expect(Math.abs(value('paperboy_deliveries\\{status="sent"\\}') - 107_966)).toBeLessThan(3_000);
    expect(Math.abs(value('paperboy_deliveries\\{status="skipped"\\}') - 11_997)).toBeLessThan(1_500);
    expect(value('paperboy_mails\\{kind="digest",status="sent"\\}')).toBe(
      value('paperboy_deliveries\\{status="sent"\\}'),
    );
    expect(value('paperboy_smtp_send_seconds\\{quantile="0.5"\\}')).toBeCloseTo(2, 0);
  });

  it('counts failed admin logins per network: a new IPv6 address of the same /64 is the same client', async () => {
    const password = 'abuse-test-password-1234';
    const admin = await buildApp({ ...h.services, config: { ...h.services.config, adminPassword: password } });
    try {
      const login = (remoteAddress: string, pass: string) =>
        admin.inject({
          method: 'GET',
          url: '/admin',
          remoteAddress,
          headers: { authorization: `Basic ${Buffer.from(`admin:${pass}`).toString('base64')}` },
        });
      const answers = [];
      for (let n = 0; n < 12; n++) answers.push((await login(`2001:db8:5:6::${n + 1}`, `guess ${n}`)).statusCode);
      expect(answers).toEqual([...Array(10).fill(401), 429, 429]);
      expect((await login('2001:db8:5:6:ffff::1', password)).statusCode).toBe(429);
      expect((await login('2001:db8:5:7::1', password)).statusCode).toBe(200);
    } finally {
      await admin.close();
    }
  });

  it('answers malformed or impossible days with a 4xx, never a 500', async () => {
    for (const day of [
      '0000-01-01',
      '2026-02-30',
      '2025-02-29',
      '2026-13-01',
      '2026-00-10',
      '2026-04-31',
      '99999-01-01',
      '+20000-01-01',
      '2026-1-1',
      '2026-01-01T00:00:00Z',
      '%00',
    ]) {
      const res = await h.app.inject({ method: 'GET', url: `/digests/${encodeURIComponent(day)}` });
      expect(res.statusCode, day).toBe(400);
    }
    // Real days on which nothing became news: not found.
    for (const day of ['0001-01-01', '2024-02-29', '9999-12-31']) {
      const res = await h.app.inject({ method: 'GET', url: `/digests/${day}` });
      expect(res.statusCode, day).toBe(404);
      expect(res.body).toContain('No papers became news that day.');
    }
  });

  it("bounds a feed's topics: how many and how long", async () => {
    const ok = await h.app.inject({
      method: 'GET',
      url: `/feed.xml?topics=${Array(20)
        .fill('x')
        .map((x, i) => x + i)}`,
    });
    expect(ok.statusCode).toBe(200);
    for (const topics of [
      Array.from({ length: 21 }, (_, i) => `t${i}`).join(','),
      Array.from({ length: 51 }, () => 'same').join(','),
      'x'.repeat(61),
    ]) {
      const res = await h.app.inject({ method: 'GET', url: `/feed.xml?topics=${topics}` });
      expect(res.statusCode, topics.slice(0, 20)).toBe(400);
    }
  });
});
