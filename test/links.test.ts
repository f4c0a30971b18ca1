import { randomUUID } from 'node:crypto';
import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook, webhookKey } from '../services/api/webhook-signature.ts';
import {
  createHarness,
  eventually,
  type Harness,
  header,
  linkIn,
  parse,
  pathOf,
  settled,
  subscribeAndConfirm,
} from './support/harness.ts';

const form = { 'content-type': 'application/x-www-form-urlencoded' };
const WEBHOOK_SECRET = 'links-test-webhook-secret-0123456789';
const DAY = 86_400_000;

/**
 * What each link in a mail can do, seen by an attacker who holds one, a link scanner that fetches
 * them all, and a mailbox provider that logs the List-Unsubscribe URL.
 */
describe('links and tokens', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await createHarness({ env: { WEBHOOK_SECRET, RANK_WINDOW_DAYS: '365' } });
    h.startWorkers();
  });
  afterAll(async () => h?.close());

  // biome-ignore lint/suspicious/noExplicitAny: a raw row, checked field by field
  const row = async (email: string): Promise<any> =>
    (await h.services.db.query('SELECT * FROM subscribers WHERE email = $1', [email])).rows[0];
  const suppression = async (email: string) =>
    (
      await h.services.db.query<{ reason: string }>(
        'SELECT reason FROM suppressions WHERE email_hash = paperboy_email_hash($1)',
        [email],
      )
    ).rows[0]?.reason;
  const signup = (email: string) => h.app.inject({ method: 'POST', url: '/api/subscriptions', payload: { email } });
  /** A full link's path, or a path as it is. */
  const at = (url: string) => (url.startsWith('/') ? url : pathOf(url));
  const get = (url: string) => h.app.inject({ method: 'GET', url: at(url) });
  const post = (url: string, payload = '') => h.app.inject({ method: 'POST', url: at(url), headers: form, payload });
  const newest = async (email: string) => parse(h.sink.to(email).at(-1)!);
  const mailCount = (email: string) => h.sink.to(email).length;
  /** A bounce or complaint report, signed as the mail provider signs it. */
  const report = (email: string, type: 'bounce' | 'complaint') => {
    const id = `msg_${randomUUID()}`;
    const timestamp = String(Math.floor(Date.now() / 1000));
    const body = JSON.stringify({ email, type });
    return h.app.inject({
      method: 'POST',
      url: '/api/webhooks/bounces',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': timestamp,
        'webhook-signature': signWebhook(webhookKey(WEBHOOK_SECRET), id, timestamp, body),
      },
      payload: body,
    });
  };

  /** Sends the subscriber's next digest (due within a day of the clock) and returns it. */
  async function digestFor(email: string): Promise<ParsedMail> {
    const before = mailCount(email);
    await h.services.digests.runNow(new Date(h.clock.now().getTime() + DAY));
    await eventually(async () => expect(mailCount(email)).toBeGreaterThan(before));
    const mail = await newest(email);
    expect(mail.subject).toMatch(/trending paper/);
    return mail;
  }

  /** Every link in a mail that points at Paperboy: text part, HTML part and List-Unsubscribe. */
  function serviceLinks(mail: ParsedMail): string[] {
    const found = [
      ...((mail.text ?? '').match(/https?:\/\/[^\s<>"]+/g) ?? []),
      ...[...String(mail.html || '').matchAll(/href="([^"]+)"/g)].map((m) => (m[1] as string).replaceAll('&amp;', '&')),
      ...[...(header(mail, 'List-Unsubscribe') ?? '').matchAll(/<(https?:[^>]+)>/g)].map((m) => m[1] as string),
    ];
    return [...new Set(found.filter((u) => u.startsWith('http://paperboy.test/')))];
  }

  /** Every row a link could change, as text. */
  const fingerprint = async () =>
    (
      await h.services.db.query<{ row: string }>(`
        SELECT 'subscriber ' || s::text AS row FROM subscribers s
        UNION ALL SELECT 'delivery ' || d::text FROM deliveries d
        UNION ALL SELECT 'suppression ' || x::text FROM suppressions x
        UNION ALL SELECT 'vote ' || v::text FROM paper_votes v
        UNION ALL SELECT 'follow ' || f::text FROM follows f
        ORDER BY 1`)
    ).rows
      .map((r) => r.row)
      .join('\n');

  /** A link scanner: GETs (and HEADs) every link; answers what each link answered. */
  async function scan(mail: ParsedMail): Promise<string[]> {
    const links = serviceLinks(mail);
    expect(links.length, `links in "${mail.subject}"`).toBeGreaterThan(0);
    const answers: string[] = [];
    for (const link of links) {
      for (const method of ['GET', 'HEAD'] as const) {
        const res = await h.app.inject({ method, url: pathOf(link) });
        expect(res.statusCode, `${method} ${link}`).toBeLessThan(500);
        answers.push(`${method} ${new URL(link).pathname.split('/')[1]} ${res.statusCode}`);
      }
    }
    return answers;
  }

  /** Scans a mail once the queue is quiet, and says whether the database changed. */
  async function scanChangesNothing(mail: ParsedMail) {
    await settled(h, 'mail');
    const before = await fingerprint();
    const answers = await scan(mail);
    expect(await fingerprint(), `a scanner's GETs (${answers.join(', ')}) changed the database`).toBe(before);
  }

  describe('a link scanner', () => {
    const email = 'scanned@example.org';

    it('confirms nothing by fetching every link of the confirmation mail', async () => {
      h.clock.set('2026-03-02T10:00:00Z');
      expect((await signup(email)).statusCode).toBe(202);
      await eventually(async () => expect(mailCount(email)).toBe(1));
      const mail = await newest(email);
      await scanChangesNothing(mail);
      expect((await row(email)).status).toBe('pending');
    });

    it('confirms with the page’s one button, a POST', async () => {
      const link = linkIn(await newest(email), '/confirm/');
      const page = await get(link);
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain(`<form method="post" action="${pathOf(link)}">`);
      expect(page.body.match(/<button/g)).toHaveLength(1);
      expect(page.body).not.toContain(email);
      expect((await row(email)).status).toBe('pending');

      const confirmed = await post(link);
      expect(confirmed.statusCode).toBe(200);
      expect(confirmed.body).toContain('You are subscribed');
      expect((await row(email)).status).toBe('active');
      expect((await post(link)).body).toContain('Already confirmed');
    });

    it('changes nothing by fetching every link of a digest, its List-Unsubscribe URL included', async () => {
      const digest = await digestFor(email);
      // Papers without an arXiv id (the seed page's) link to their pages here.
      expect([...new Set(serviceLinks(digest).map((u) => new URL(u).pathname.split('/')[1]))].sort()).toEqual([
        'd',
        'manage',
        'papers',
        'u',
        'vote',
      ]);
      await scanChangesNothing(digest);
      expect((await row(email)).status).toBe('active');
    });

    it('changes nothing by fetching every link of the already-subscribed mail', async () => {
      const before = mailCount(email);
      await signup(email);
      await eventually(async () => expect(mailCount(email)).toBe(before + 1));
      const mail = await newest(email);
      expect(mail.subject).toBe('You are already subscribed to Paperboy');
      await scanChangesNothing(mail);
    });

    it('changes nothing by fetching the link of a mailed preferences link', async () => {
      h.clock.set('2026-03-03T10:00:00Z');
      const before = mailCount(email);
      const u = linkIn(await digestFor(email), '/u/');
      expect((await post(`${u}/manage-link`)).statusCode).toBe(200);
      await eventually(async () => expect(mailCount(email)).toBe(before + 2));
      const mail = await newest(email);
      expect(mail.subject).toBe('Your link to your Paperboy preferences');
      await scanChangesNothing(mail);
    });
  });

  describe('the unsubscribe link', () => {
    const email = 'leaver@example.org';
    let u = '';

    beforeAll(async () => {
      h.clock.set('2026-04-01T10:00:00Z');
      await subscribeAndConfirm(h, email);
      u = linkIn(await digestFor(email), '/u/');
    });

    it('shows a page with one unsubscribe button and no way to the preferences but a mailed link', async () => {
      const page = await get(u);
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain(`<form method="post" action="${pathOf(u)}">`);
      expect(page.body).toContain(`<form method="post" action="${pathOf(u)}/manage-link">`);
      expect(page.body).not.toContain('/manage/');
      expect(page.body).not.toContain('/api/subscription/');
      // The URL is logged by mail gateways: its page does not show whose it is.
      expect(page.body).not.toContain(email);
    });

    it('mails a fresh preferences link to the address on record, at most once in a while', async () => {
      const before = mailCount(email);
      const linkMails = async () =>
        Number(
          /^paperboy_mails\{kind="preferences-link",status="sent"\} (\d+)$/m.exec(
            (await h.app.inject({ url: '/metrics' })).body,
          )?.[1],
        );
      const countedBefore = await linkMails();
      const asked = await post(`${u}/manage-link`);
      expect(asked.statusCode).toBe(200);
      expect(asked.body).not.toContain('/manage/');
      await eventually(async () => expect(mailCount(email)).toBe(before + 1));
      const manage = linkIn(await newest(email), '/manage/');
      const prefs = await get(manage);
      expect(prefs.statusCode).toBe(200);
      expect(prefs.body).toContain(`${email} · active`);

      // Asked again at once: the same answer, and no second mail.
      expect((await post(`${u}/manage-link`)).statusCode).toBe(200);
      await settled(h, 'mail');
      expect(mailCount(email)).toBe(before + 1);

      h.clock.set(new Date(h.clock.now().getTime() + 16 * 60_000).toISOString());
      expect((await post(`${u}/manage-link`)).statusCode).toBe(200);
      await eventually(async () => expect(mailCount(email)).toBe(before + 2));
      // Counted in /metrics, once the job that sent it has ended.
      await settled(h, 'mail');
      expect(await linkMails()).toBe(countedBefore + 2);
    });

    it('unsubscribes with RFC 8058 one-click and can be undone from its page for a day, not later', async () => {
      const clicked = await post(u);
      expect(clicked.statusCode).toBe(200);
      expect((await row(email)).status).toBe('unsubscribed');
      const undo = /<form method="post" action="([^"]+)">\s*<input type="hidden" name="undo" value="([^"]+)">/.exec(
        clicked.body,
      );
      expect(undo?.[1]).toBe(`${pathOf(u)}/undo`);
      const undoBody = `undo=${encodeURIComponent(undo?.[2] as string)}`;

      // The unsubscribe URL alone (as a gateway logged it) cannot subscribe anyone again.
      const bare = await post(`${u}/undo`);
      expect(bare.statusCode).toBe(400);
      expect((await row(email)).status).toBe('unsubscribed');

      h.clock.set(new Date(h.clock.now().getTime() + 3_600_000).toISOString());
      const undone = await post(`${u}/undo`, undoBody);
      expect(undone.statusCode).toBe(200);
      expect(undone.body).toContain('You are subscribed again');
      expect((await row(email)).status).toBe('active');

      // Once more, and this time the day passes.
      const again = await post(u);
      const late = /name="undo" value="([^"]+)"/.exec(again.body)?.[1] as string;
      h.clock.set(new Date(h.clock.now().getTime() + 25 * 3_600_000).toISOString());
      const tooLate = await post(`${u}/undo`, `undo=${encodeURIComponent(late)}`);
      expect(tooLate.statusCode).toBe(400);
      expect(tooLate.body).toContain('The time to undo has passed');
      expect((await row(email)).status).toBe('unsubscribed');
    });

    it('does not offer to undo what it did not do', async () => {
      // Already unsubscribed: a second POST (anyone holding the URL) gets no undo.
      const res = await post(u);
      expect(res.statusCode).toBe(200);
      expect(res.body).not.toContain('name="undo"');
    });
  });

  describe('one-click unsubscribe (RFC 8058)', () => {
    it('answers a mail client the same whether it posts urlencoded or multipart, and unsubscribes', async () => {
      const bodies = [
        { 'content-type': 'application/x-www-form-urlencoded', payload: 'List-Unsubscribe=One-Click' },
        {
          'content-type': 'multipart/form-data; boundary=pb',
          payload: '--pb\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--pb--\r\n',
        },
      ];
      for (const [i, { payload, ...headers }] of bodies.entries()) {
        const email = `one-click-${i}@example.org`;
        h.clock.set('2026-04-15T10:00:00Z');
        await subscribeAndConfirm(h, email);
        const u = linkIn(await digestFor(email), '/u/');
        const res = await h.app.inject({ method: 'POST', url: at(u), headers, payload });
        expect(res.statusCode, headers['content-type']).toBe(200);
        expect(res.headers['content-type'], headers['content-type']).toMatch(/^text\/plain/);
        expect(res.body, headers['content-type']).toBe('Unsubscribed.\n');
        expect((await row(email)).status, headers['content-type']).toBe('unsubscribed');
      }
    });
  });

  describe('preferences links', () => {
    const email = 'keeper@example.org';

    it('expire; an expired one offers a fresh link, which arrives by mail and works', async () => {
      h.clock.set('2026-05-01T10:00:00Z');
      await subscribeAndConfirm(h, email);
      const manage = linkIn(await digestFor(email), '/manage/');
      expect((await get(manage)).statusCode).toBe(200);

      h.clock.set('2026-08-01T10:00:00Z'); // three months later
      const expired = await get(manage);
      expect(expired.statusCode).toBe(400);
      expect(expired.body).toContain('This link has expired');
      expect(expired.body).toContain(`<form method="post" action="${pathOf(manage)}/new-link">`);
      expect(expired.body).not.toContain(email);
      const api = await get(manage.replace('/manage/', '/api/subscription/'));
      expect(api.statusCode).toBe(400);
      expect(api.json()).toMatchObject({ error: 'expired_token' });
      // Nothing but the offer works with it.
      expect((await post(`${manage}/pause`)).statusCode).toBe(400);
      expect((await row(email)).status).toBe('active');

      const before = mailCount(email);
      const asked = await post(`${manage}/new-link`);
      expect(asked.statusCode).toBe(200);
      await eventually(async () => expect(mailCount(email)).toBe(before + 1));
      const fresh = linkIn(await newest(email), '/manage/');
      expect(fresh).not.toBe(manage);
      const page = await get(fresh);
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain(`${email} · active`);
    });

    it('treat a link from before links expired (no expiry in it) as expired', async () => {
      const { id } = await row(email);
      const old = `/manage/${h.services.tokens.sign('manage', id)}`;
      const res = await get(old);
      expect(res.statusCode).toBe(400);
      expect(res.body).toContain(`action="${old}/new-link"`);
    });

    it('are all signed out at once, with the web versions; the old one-click unsubscribe still works', async () => {
      h.clock.set('2026-08-10T10:00:00Z');
      const digest = await digestFor(email);
      const manage = linkIn(digest, '/manage/');
      const view = linkIn(digest, '/d/');
      const u = linkIn(digest, '/u/');
      expect((await get(view)).statusCode).toBe(200);

      const out = await post(`${manage}/revoke-links`);
      expect(out.statusCode).toBe(200);
      expect(out.body).toContain('signed out');
      for (const link of [manage, view, manage.replace('/manage/', '/api/subscription/')]) {
        const res = await get(link);
        expect(res.statusCode, link).toBe(400);
        expect(res.body, link).not.toContain(email);
      }
      expect((await post(`${manage}/pause`)).statusCode).toBe(400);
      expect((await row(email)).status).toBe('active');

      // A fresh link, asked for with the signed-out one, goes to the address and works.
      const before = mailCount(email);
      expect((await post(`${manage}/new-link`)).statusCode).toBe(200);
      await eventually(async () => expect(mailCount(email)).toBe(before + 1));
      expect((await get(linkIn(await newest(email), '/manage/'))).statusCode).toBe(200);

      // RFC 8058: the List-Unsubscribe of an old digest keeps working.
      expect(header(digest, 'List-Unsubscribe')).toBe(`<${u}>`);
      const oneClick = await h.app.inject({
        method: 'POST',
        url: pathOf(u),
        headers: form,
        payload: 'List-Unsubscribe=One-Click',
      });
      expect(oneClick.statusCode).toBe(200);
      expect((await row(email)).status).toBe('unsubscribed');
    });
  });

  describe('the web version of a digest', () => {
    it('shows the digest only: no preferences or unsubscribe link, no address, no schedule', async () => {
      const email = 'sharer@example.org';
      h.clock.set('2026-09-01T10:00:00Z');
      await subscribeAndConfirm(h, email, { timezone: 'Europe/Berlin' });
      const digest = await digestFor(email);
      const web = await get(linkIn(digest, '/d/'));
      expect(web.statusCode).toBe(200);
      const titles = (digest.text ?? '').match(/^\d+\. .+$/gm) ?? [];
      expect(titles.length).toBeGreaterThan(0);
      expect(web.body.match(/class="paper-title"/g)).toHaveLength(titles.length);
      for (const secret of ['/manage/', '/u/', '/api/subscription/', email, 'sharer', 'Europe/Berlin']) {
        expect(web.body, secret).not.toContain(secret);
      }
      // The mail itself keeps the reader's own links.
      expect(linkIn(digest, '/manage/')).toBeTruthy();
      expect(linkIn(digest, '/u/')).toBeTruthy();
    });
  });

  describe('erasure', () => {
    it('ends every link, also after the address signs up again', async () => {
      const email = 'forgotten@example.org';
      h.clock.set('2026-10-01T10:00:00Z');
      await subscribeAndConfirm(h, email);
      const digest = await digestFor(email);
      const manage = linkIn(digest, '/manage/');
      const view = linkIn(digest, '/d/');
      const u = linkIn(digest, '/u/');
      expect((await post(`${manage}/erase`)).statusCode).toBe(200);

      await subscribeAndConfirm(h, email);
      for (const link of [manage, view, manage.replace('/manage/', '/api/subscription/')]) {
        const res = await get(link);
        expect(res.statusCode, link).toBeGreaterThanOrEqual(400);
        expect(res.body, link).not.toContain(email);
      }
      const page = await get(u);
      expect(page.body).toContain('Not subscribed');
      expect((await post(u, 'List-Unsubscribe=One-Click')).statusCode).toBe(200);
      expect((await row(email)).status).toBe('active'); // the new subscription is not the old link's
    });
  });

  describe('suppressed addresses', () => {
    it('sends no confirmation to an address that complained when a stranger signs it up', async () => {
      const email = 'complainer@example.org';
      h.clock.set('2026-11-01T10:00:00Z');
      await subscribeAndConfirm(h, email);
      expect((await report(email, 'complaint')).statusCode).toBe(200);
      expect((await row(email)).status).toBe('unsubscribed');
      expect(await suppression(email)).toBe('complaint');

      const before = mailCount(email);
      expect((await signup(email)).statusCode).toBe(202);
      await settled(h, 'mail');
      expect(mailCount(email)).toBe(before);
      // A stranger's signup changes no subscriber: the complainer stays unsubscribed.
      expect(await row(email)).toMatchObject({
        status: 'unsubscribed',
        confirm_sent_at: null,
        confirm_given_up_at: expect.any(Date),
        confirm_last_error: 'the address reported a Paperboy mail as spam and is suppressed',
      });
    });

    it('lifts only an erasure by confirming: a complaint or a bounce stays', async () => {
      h.clock.set('2026-11-10T10:00:00Z');
      for (const [email, type, reason] of [
        ['complains-later@example.org', 'complaint', 'complaint'],
        ['bounces-later@example.org', 'bounce', 'bounced'],
      ] as const) {
        // A confirmation link mailed before the address was reported, used after a new signup.
        expect((await signup(email)).statusCode).toBe(202);
        await eventually(async () => expect(mailCount(email)).toBe(1));
        const confirm = linkIn(await newest(email), '/confirm/');
        expect((await report(email, type)).statusCode).toBe(200);
        const reported = (await row(email)).status;
        expect(reported, email).not.toBe('active');
        expect((await signup(email)).statusCode).toBe(202);
        await settled(h, 'mail');
        expect(mailCount(email), email).toBe(1);
        expect((await row(email)).status, email).toBe(reported);

        const res = await post(confirm);
        expect(res.body, email).not.toContain('You are subscribed');
        expect((await row(email)).status, email).toBe(reported);
        expect(await suppression(email), email).toBe(reason);
      }

      // An erasure is lifted: confirming again is consent again.
      const email = 'comes-back@example.org';
      await subscribeAndConfirm(h, email);
      const manage = linkIn(await digestFor(email), '/manage/');
      await post(`${manage}/erase`);
      expect(await suppression(email)).toBe('erased');
      await subscribeAndConfirm(h, email);
      expect(await suppression(email)).toBeUndefined();
      expect((await row(email)).status).toBe('active');
    });

    it('keeps a complaint from being undone by the preferences link: resubscribing is refused', async () => {
      const email = 'complains-then-returns@example.org';
      h.clock.set('2026-11-20T10:00:00Z');
      await subscribeAndConfirm(h, email);
      const manage = linkIn(await digestFor(email), '/manage/');
      expect((await report(email, 'complaint')).statusCode).toBe(200);
      expect((await row(email)).status).toBe('unsubscribed');

      const page = await post(`${manage}/resubscribe`);
      expect(page.statusCode).toBe(409);
      expect(page.body).toContain('Paperboy no longer mails this address');
      const api = await h.app.inject({
        method: 'POST',
        url: at(`${manage.replace('/manage/', '/api/subscription/')}/resubscribe`),
      });
      expect(api.statusCode).toBe(409);
      expect((await row(email)).status).toBe('unsubscribed');
      expect(await suppression(email)).toBe('complaint');
    });
  });
});
