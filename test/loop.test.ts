import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createHarness,
  eventually,
  type Harness,
  header,
  ingestHf,
  linkIn,
  parse,
  pathOf,
  settled,
} from './support/harness.ts';

/** The whole loop on real PostgreSQL, Redis and SMTP: sign up, confirm, digests, unsubscribe. */
describe('subscription and digest loop', () => {
  let h: Harness;
  const email = 'reader@example.org';
  let unsubscribeUrl = '';
  const sentTitles = new Set<string>();

  beforeAll(async () => {
    h = await createHarness();
    h.startWorkers();
  });
  afterAll(async () => h?.close());

  // biome-ignore lint/suspicious/noExplicitAny: a raw row, checked field by field below
  const subscriber = async (address = email): Promise<any> =>
    (await h.services.db.query('SELECT * FROM subscribers WHERE email = $1', [address])).rows[0];
  const mailsTo = (address: string) => h.sink.to(address);
  const titlesOf = (text: string) => [...text.matchAll(/^\d+\. (.+)$/gm)].map((m) => m[1] as string);

  it('answers healthz and readyz', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
    const ready = await h.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({
      status: 'ready',
      checks: { postgres: 'ok', redis: 'ok', smtp: 'ok' },
      relay: { status: 'accepting' },
    });
  });

  it('signs up through the API with 202 and mails a confirmation link', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/subscriptions',
      payload: { email: ' Reader@Example.ORG ' },
    });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ status: 'pending' });
    expect((await subscriber())?.status).toBe('pending');

    const mail = await parse(await h.sink.waitFor((m) => m.to.includes(email)));
    expect(mail.subject).toBe('Confirm your Paperboy subscription');
    expect(mail.html).toContain('/confirm/');
    expect(linkIn(mail, '/confirm/')).toMatch(/^http:\/\/paperboy\.test\/confirm\//);
  });

  it('sends no digest to a pending subscriber', async () => {
    const r = await h.services.digests.runNow(new Date('2026-03-03T09:00:00Z'));
    expect(r).toMatchObject({ due: 0, sent: 0 });
  });

  it('confirms through the mailed link’s page, with its one button, and says so on a page', async () => {
    const mail = await parse(mailsTo(email)[0]!);
    const link = pathOf(linkIn(mail, '/confirm/'));
    const page = await h.app.inject({ method: 'GET', url: link });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain(`<form method="post" action="${link}">`);
    expect((await subscriber()).status).toBe('pending');
    const res = await h.app.inject({ method: 'POST', url: link });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toContain('You are subscribed');
    const s = await subscriber();
    expect(s.status).toBe('active');
    // Confirmed Monday 10:00 UTC with the default 08:00 UTC: first digest Tuesday 08:00.
    expect(s.next_send_at.toISOString()).toBe('2026-03-03T08:00:00.000Z');

    const again = await h.app.inject({ method: 'POST', url: link });
    expect(again.body).toContain('Already confirmed');
    expect((await h.app.inject({ method: 'GET', url: link })).body).toContain('Already confirmed');
  });

  it('sends one MJML digest with html and text parts and one-click unsubscribe headers', async () => {
    const before = mailsTo(email).length;
    const r = await h.services.digests.runNow(new Date('2026-03-03T08:00:30Z'));
    expect(r).toMatchObject({ due: 1, sent: 1, deferred: 0, failed: 0 });
    expect(mailsTo(email)).toHaveLength(before + 1);

    const mail = await parse(mailsTo(email).at(-1)!);
    expect(mail.subject).toMatch(/^10 trending papers today · Tuesday, 3 March$/);
    expect(mail.html).toContain('<!doctype html>');
    expect(mail.text).toContain('Why: #1 on the trending page');
    const titles = titlesOf(mail.text ?? '');
    expect(titles).toHaveLength(10);
    expect(titles[0]).toBe('Parameter-Efficient Orthogonal Finetuning via Butterfly Factorization');
    for (const t of titles) sentTitles.add(t);

    unsubscribeUrl = linkIn(mail, '/u/');
    expect(header(mail, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
    expect(header(mail, 'List-Unsubscribe')).toBe(`<${unsubscribeUrl}>`);
    expect(mail.html).toContain(`href="${unsubscribeUrl}"`);
    expect(mail.messageId).toBe(`<digest.2026-03-03.${(await subscriber()).id}@localhost>`);
  });

  it('links each digest to its web version, and keeps an archive of past days', async () => {
    const mail = await parse(mailsTo(email).at(-1)!);
    const view = linkIn(mail, '/d/');
    expect(mail.html).toContain(`href="${view}"`);
    const web = await h.app.inject({ method: 'GET', url: pathOf(view) });
    expect(web.statusCode).toBe(200);
    expect(web.headers['content-security-policy']).toContain("default-src 'none'");
    expect(web.body).toContain('Parameter-Efficient Orthogonal Finetuning via Butterfly Factorization');
    expect(web.body).not.toContain('View in browser');
    expect((await h.app.inject({ method: 'GET', url: `${pathOf(view)}x` })).statusCode).toBe(400);

    const archive = await h.app.inject({ method: 'GET', url: '/digests' });
    expect(archive.body).toContain('<a href="/digests/2026-03-02">Monday, 2 March 2026</a>');
    const day = await h.app.inject({ method: 'GET', url: '/digests/2026-03-02' });
    expect(day.statusCode).toBe(200);
    expect(day.body).toMatch(
      /<strong>1\. <a href="http:\/\/paperboy\.test\/papers\/\d+">Parameter-Efficient Orthogonal Finetuning via Butterfly Factorization<\/a>/,
    );
    for (const bad of ['2026-13-45', 'yesterday']) {
      expect((await h.app.inject({ method: 'GET', url: `/digests/${bad}` })).statusCode, bad).toBe(400);
    }
  });

  it('plans a day once: a second run for the same day sends nothing', async () => {
    const before = mailsTo(email).length;
    const r = await h.services.digests.runNow(new Date('2026-03-03T20:00:00Z'));
    expect(r.sent).toBe(0);
    expect(mailsTo(email)).toHaveLength(before);
  });

  it('never sends a paper twice across days', async () => {
    for (const day of ['2026-03-04', '2026-03-05']) {
      const r = await h.services.digests.runNow(new Date(`${day}T08:00:05Z`));
      expect(r.sent).toBe(1);
      const titles = titlesOf((await parse(mailsTo(email).at(-1)!)).text ?? '');
      expect(titles).toHaveLength(10);
      for (const t of titles) {
        expect(sentTitles.has(t), t).toBe(false);
        sentTitles.add(t);
      }
    }
    const { rows } = await h.services.db.query(
      'SELECT count(*)::int AS n, count(DISTINCT paper_id)::int AS d FROM delivery_papers',
    );
    expect(rows[0]).toEqual({ n: 30, d: 30 });
  });

  it('runs digests through the BullMQ tick and send jobs', async () => {
    await h.services.db.query("UPDATE subscribers SET next_send_at = '2026-03-06T08:00:00Z' WHERE email = $1", [email]);
    h.clock.set('2026-03-06T08:00:10Z');
    const before = mailsTo(email).length;
    await h.services.queues.add('digest', 'tick', {});
    await h.sink.waitFor((m) => m.to.includes(email) && mailsTo(email).length > before);
    await eventually(async () => {
      const { rows } = await h.services.db.query(
        "SELECT status, digest_date FROM deliveries WHERE digest_date = '2026-03-06'",
      );
      expect(rows).toEqual([{ status: 'sent', digest_date: '2026-03-06' }]);
    });
  });

  it('shows an unsubscribe page with one unsubscribe button and changes nothing on GET', async () => {
    const res = await h.app.inject({ method: 'GET', url: pathOf(unsubscribeUrl) });
    expect(res.statusCode).toBe(200);
    const path = new URL(unsubscribeUrl).pathname;
    // One button unsubscribes; the other asks for a preferences link by mail.
    expect([...res.body.matchAll(/<form method="post" action="([^"]+)">/g)].map((m) => m[1])).toEqual([
      path,
      `${path}/manage-link`,
    ]);
    expect(res.body).not.toContain('/manage/');
    expect((await subscriber()).status).toBe('active');
  });

  it('unsubscribes with the RFC 8058 one-click POST: 200, no redirect, no cookies needed', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: pathOf(unsubscribeUrl),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers.location).toBeUndefined();
    expect((await subscriber()).status).toBe('unsubscribed');

    const again = await h.app.inject({
      method: 'POST',
      url: pathOf(unsubscribeUrl),
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
      payload: '--x\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--x--\r\n',
    });
    expect(again.statusCode).toBe(200);
  });

  it('sends no later digest to an unsubscribed address', async () => {
    const before = mailsTo(email).length;
    const r = await h.services.digests.runNow(new Date('2026-03-10T08:00:00Z'));
    expect(r.sent).toBe(0);
    expect(mailsTo(email)).toHaveLength(before);
  });

  it('reports subscribers, deliveries, queues and requests as Prometheus metrics', async () => {
    // Signup mails are counted when their job ends, which can be after the mail arrived.
    await settled(h, 'mail');
    const res = await h.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toMatch(/^paperboy_subscribers\{status="unsubscribed"\} 1$/m);
    expect(res.body).toMatch(/^paperboy_deliveries\{status="sent"\} 4$/m);
    expect(res.body).toMatch(/^paperboy_mails\{kind="digest",status="sent"\} 4$/m);
    expect(res.body).toMatch(/^paperboy_mails\{kind="digest",status="bounced"\} 0$/m);
    // Each confirmation mail this file caused, sent by the workers' mail queue.
    expect(res.body).toMatch(/^paperboy_mails\{kind="signup",status="sent"\} [1-9]\d*$/m);
    expect(res.body).toMatch(/^paperboy_mails\{kind="signup",status="failed"\} 0$/m);
    expect(res.body).toMatch(/^paperboy_smtp_send_seconds\{quantile="0\.99"\} [\d.e-]+$/m);
    expect(res.body).toMatch(/^paperboy_queue_jobs\{queue="digest",state="waiting"\} \d+$/m);
    expect(res.body).toMatch(/^paperboy_http_requests_total\{route="\/api\/subscriptions",status="202"\} 1$/m);
  });

  it('signs up from the home page form without JavaScript', async () => {
    const page = await h.app.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<form class="card" method="post" action="/subscribe">');
    const res = await h.app.inject({
      method: 'POST',
      url: '/subscribe',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'email=form%40example.org&topics=&timezone=Europe%2FBerlin&hour=7&frequency=daily&maxPapers=5',
    });
    expect(res.statusCode).toBe(202);
    expect(res.body).toContain('Check your inbox');
    await h.sink.waitFor((m) => m.to.includes('form@example.org'));
    expect(await subscriber('form@example.org')).toMatchObject({
      timezone: 'Europe/Berlin',
      send_hour: 7,
      max_papers: 5,
    });
  });

  it('rejects bad input with a 4xx and changes nothing', async () => {
    const count = async () =>
      (await h.services.db.query<{ n: number }>('SELECT count(*)::int AS n FROM subscribers')).rows[0]?.n;
    const before = await count();
    const cases: [unknown, string][] = [
      [{ email: 'not-an-address' }, 'email'],
      [{}, 'email'],
      [{ email: 'a@example.org', hour: 24 }, 'hour'],
      [{ email: 'a@example.org', timezone: 'Mars/Olympus' }, 'timezone'],
      [{ email: 'a@example.org', frequency: 'hourly' }, 'frequency'],
      [{ email: 'a@example.org', surprise: 1 }, 'surprise'],
      [{ email: 'a@example.org\r\nBcc: x@example.org' }, 'email'],
    ];
    for (const [payload, field] of cases) {
      const res = await h.app.inject({ method: 'POST', url: '/api/subscriptions', payload: payload as object });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json()).toMatchObject({ error: 'invalid_request' });
      expect(res.json().message).toContain(field);
    }
    const notJson = await h.app.inject({
      method: 'POST',
      url: '/api/subscriptions',
      headers: { 'content-type': 'application/json' },
      payload: '{"email":',
    });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json()).toHaveProperty('message');
    const huge = await h.app.inject({
      method: 'POST',
      url: '/api/subscriptions',
      payload: { email: `${'a'.repeat(20_000)}@x.org` },
    });
    expect(huge.statusCode).toBe(413);
    expect(await count()).toBe(before);
  });

  it('answers a tampered or foreign token with a clear 400 page', async () => {
    const good = new URL(unsubscribeUrl).pathname;
    for (const url of [`${good.slice(0, -2)}xx`, '/u/garbage', '/confirm/1.abc.zzzzzzzzzzzzzzzzzzzzzz']) {
      const res = await h.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(400);
      expect(res.body).toContain('This link is not valid');
    }
  });

  it('escapes hostile paper text in the digest', async () => {
    // Through ingestion, as a hostile source would deliver it, and trending enough to be picked.
    h.clock.set('2026-03-11T09:00:00Z');
    await ingestHf(h, 'hostile', [
      {
        paper: {
          id: '2603.99999',
          title: '<script>alert(1)</script> Hostile',
          summary: '<img src=x onerror=alert(2)>',
          upvotes: 100_000,
          submittedOnDailyAt: '2026-03-11T08:00:00Z',
          authors: [{ name: '<b>Mallory</b>', hidden: false }],
        },
      },
    ]);
    await h.app.inject({ method: 'POST', url: '/api/subscriptions', payload: { email: 'xss@example.org' } });
    const confirm = await parse(await h.sink.waitFor((m) => m.to.includes('xss@example.org')));
    h.clock.set('2026-03-11T10:00:00Z');
    await h.app.inject({ method: 'POST', url: pathOf(linkIn(confirm, '/confirm/')) });
    const run = await h.services.digests.runNow(new Date('2026-03-12T08:00:00Z'));
    const mails = await Promise.all(h.sink.to('xss@example.org').map((m) => parse(m)));
    const digest = mails.find((m) => /trending papers/.test(m.subject ?? ''))!;
    // Says what happened when there is no digest: the run's summary and the mails there were.
    expect(digest, `run ${JSON.stringify(run)}; mails: ${mails.map((m) => m.subject).join(' | ')}`).toBeDefined();
    expect(digest.text).toContain('<script>alert(1)</script> Hostile');
    expect(digest.html).not.toContain('<script>');
    expect(digest.html).not.toContain('<img src=x');
    expect(digest.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; Hostile');
  });
});
