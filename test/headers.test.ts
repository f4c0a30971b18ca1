import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

const PASSWORD = 'correct horse: battery staple';
const AS_ADMIN = { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const PUBLIC = 'http://paperboy.test';

/** A Content-Security-Policy as a map of directive → sources. */
function directives(policy: string | string[] | number | undefined): Map<string, string[]> {
  expect(typeof policy, 'a Content-Security-Policy header').toBe('string');
  return new Map(
    String(policy)
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name, ...sources]) => [name as string, sources]),
  );
}

type Res = Awaited<ReturnType<Harness['app']['inject']>>;

/** What every response carries, whatever it is. */
function expectBaseHeaders(res: Res, what: string) {
  expect(res.headers['x-content-type-options'], what).toBe('nosniff');
}

/** What every page of Paperboy's own carries: a policy that allows nothing inline and no framing. */
function expectPageHeaders(res: Res, what: string) {
  expectBaseHeaders(res, what);
  expect(res.headers['content-type'], what).toMatch(/^text\/html/);
  expect(res.headers['x-frame-options'], what).toBe('DENY');
  const csp = directives(res.headers['content-security-policy']);
  expect(csp.get('default-src'), what).toEqual(["'none'"]);
  expect(csp.get('frame-ancestors'), what).toEqual(["'none'"]);
  expect(csp.get('form-action'), what).toEqual(["'self'"]);
  for (const [name, sources] of csp) {
    expect(sources, `${what}: ${name}`).not.toContain("'unsafe-inline'");
    expect(sources, `${what}: ${name}`).not.toContain("'unsafe-eval'");
  }
  // Nothing inline that such a policy would refuse: no <style>, no inline <script>, no style="".
  expect(res.body, what).not.toMatch(/<style|<script(?![^>]*\ssrc=)|\sstyle=/i);
}

function expectTokenHeaders(res: Res, what: string) {
  expect(res.headers['referrer-policy'], what).toBe('no-referrer');
  expect(res.headers['cache-control'], what).toBe('no-store');
}

describe('headers browsers expect', () => {
  let h: Harness;
  const email = 'headers@example.org';
  let digest: ParsedMail;
  let confirmation: ParsedMail;

  beforeAll(async () => {
    h = await createHarness({ mailbox: true, env: { ADMIN_PASSWORD: PASSWORD } });
    h.startWorkers();
    await subscribeAndConfirm(h, email, { timezone: 'UTC', hour: 8 });
    confirmation = await parse(h.sink.to(email)[0]!);
    await h.services.digests.runNow(new Date('2026-03-03T08:00:30Z'));
    await settled(h, 'digest');
    digest = await eventually(async () => {
      const mails = await Promise.all(h.sink.to(email).map(parse));
      const found = mails.find((m) => /trending papers/.test(m.subject ?? ''));
      if (!found) throw new Error('no digest yet');
      return found;
    });
  });
  afterAll(async () => h?.close());

  const get = (url: string, headers: Record<string, string> = {}) => h.app.inject({ method: 'GET', url, headers });

  it("sends every page of Paperboy's own with a strict policy, unframeable and unsniffed", async () => {
    const manage = pathOf(linkIn(digest, '/manage/'));
    const pages: [string, Res][] = [
      ['home', await get('/')],
      ['archive', await get('/digests')],
      ['archive day', await get('/digests/2026-03-02')],
      ['confirmation', await get(pathOf(linkIn(confirmation, '/confirm/')))],
      ['unsubscribe page', await get(pathOf(linkIn(digest, '/u/')))],
      ['preferences', await get(manage)],
      ['a bad token', await get('/manage/not-a-token')],
      ['mailbox', await get('/mailbox')],
      ['admin', await get('/admin', AS_ADMIN)],
      ['admin login', await get('/admin')],
      [
        'signup form answer',
        await h.app.inject({ method: 'POST', url: '/subscribe', headers: FORM, payload: 'email=page@example.org' }),
      ],
      [
        'preferences saved',
        await h.app.inject({ method: 'POST', url: manage, headers: FORM, payload: 'timezone=UTC&hour=8' }),
      ],
    ];
    for (const [what, res] of pages) {
      expect(res.statusCode, what).toBeLessThan(500);
      expectPageHeaders(res, what);
    }
    // The page of one caught message frames the message's own HTML, from this origin only.
    const id = (await get('/mailbox')).body.match(/href="\/mailbox\/([\w-]+)"/)?.[1];
    const mail = await get(`/mailbox/${id}`);
    expectPageHeaders(mail, 'a caught message');
    expect(directives(mail.headers['content-security-policy']).get('frame-src')).toEqual(["'self'"]);
  });

  it('serves the stylesheet and the script the pages load, with their types', async () => {
    const home = await get('/');
    const css = home.body.match(/<link rel="stylesheet" href="([^"]+)"/)?.[1];
    const js = home.body.match(/<script src="([^"]+)"/)?.[1];
    expect(css).toMatch(/^\/assets\/.+\.css$/);
    expect(js).toMatch(/^\/assets\/.+\.js$/);
    const style = await get(css!);
    expect(style.statusCode).toBe(200);
    expect(style.headers['content-type']).toMatch(/^text\/css/);
    expect(style.body).toContain('prefers-color-scheme: dark');
    expectBaseHeaders(style, 'stylesheet');
    const script = await get(js!);
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toMatch(/^(application|text)\/javascript/);
    expect(script.body).toContain('timezone');
    expectBaseHeaders(script, 'script');
    // Every page links the same stylesheet.
    expect((await get('/digests')).body).toContain(`href="${css}"`);
    expect((await get('/assets/nothing.css')).statusCode).toBe(404);
  });

  it('marks every answer nosniff and unframeable, JSON and feeds included', async () => {
    const responses: [string, Res][] = [
      ['healthz', await get('/healthz')],
      ['feed', await get('/feed.xml')],
      ['json feed', await get('/feed.json')],
      ['metrics', await get('/metrics')],
      ['no such route', await get('/nothing-here')],
      ['openapi', await get('/docs/json')],
      [
        'signup api',
        await h.app.inject({ method: 'POST', url: '/api/subscriptions', payload: { email: 'api@example.org' } }),
      ],
      ['invalid json', await h.app.inject({ method: 'POST', url: '/api/subscriptions', payload: { email: 'x' } })],
    ];
    for (const [what, res] of responses) {
      expectBaseHeaders(res, what);
      expect(res.headers['x-frame-options'], what).toBe('DENY');
    }
  });

  it('keeps token pages and token API answers out of caches and Referer headers', async () => {
    const token = pathOf(linkIn(digest, '/manage/')).split('/')[2] as string;
    const api = `/api/subscription/${token}`;
    const responses: [string, Res][] = [
      ['confirmation', await get(pathOf(linkIn(confirmation, '/confirm/')))],
      ['unsubscribe page', await get(pathOf(linkIn(digest, '/u/')))],
      ['preferences', await get(`/manage/${token}`)],
      ['export', await get(`/manage/${token}/export`)],
      ['bad token page', await get('/manage/not-a-token')],
      ['web version', await get(pathOf(linkIn(digest, '/d/')))],
      ['api view', await get(api)],
      ['api export', await get(`${api}/export`)],
      ['api bad token', await get('/api/subscription/not-a-token')],
      ['api change', await h.app.inject({ method: 'PATCH', url: api, payload: { maxPapers: 7 } })],
      ['api pause', await h.app.inject({ method: 'POST', url: `${api}/pause` })],
      ['api resume', await h.app.inject({ method: 'POST', url: `${api}/resume` })],
    ];
    for (const [what, res] of responses) {
      expect(res.statusCode, what).toBeLessThan(500);
      expectBaseHeaders(res, what);
      expectTokenHeaders(res, what);
    }
  });

  it("gives mail HTML and the tools' pages policies of their own, still unframeable from elsewhere", async () => {
    // The digest as mailed keeps its inline styles, and runs no script.
    const web = await get(pathOf(linkIn(digest, '/d/')));
    const webCsp = directives(web.headers['content-security-policy']);
    expect(webCsp.get('default-src')).toEqual(["'none'"]);
    expect(webCsp.get('style-src')).toEqual(["'unsafe-inline'"]);
    expect(webCsp.get('script-src')).toBeUndefined();
    expect(webCsp.get('frame-ancestors')).toEqual(["'none'"]);
    expect(web.headers['x-frame-options']).toBe('DENY');

    // A caught message's HTML is framed by the mailbox page, and by nothing else.
    const id = (await get('/mailbox')).body.match(/href="\/mailbox\/([\w-]+)"/)?.[1];
    const framed = await get(`/mailbox/${id}/html`);
    const framedCsp = directives(framed.headers['content-security-policy']);
    expect(framedCsp.get('default-src')).toEqual(["'none'"]);
    expect(framedCsp.get('frame-ancestors')).toEqual(["'self'"]);
    expect(framed.headers['x-frame-options']).toBe('SAMEORIGIN');
    expectBaseHeaders(framed, 'caught html');

    // The OpenAPI viewer and the queue dashboard load their own scripts, and nothing inline.
    for (const [what, res] of [
      ['docs', await get('/docs')],
      ['queues', await get('/admin/queues', AS_ADMIN)],
    ] as const) {
      expect(res.statusCode, what).toBe(200);
      expectBaseHeaders(res, what);
      const csp = directives(res.headers['content-security-policy']);
      expect(csp.get('frame-ancestors'), what).toEqual(["'none'"]);
      expect(csp.get('script-src'), what).toEqual(["'self'"]);
      expect(csp.has('upgrade-insecure-requests'), what).toBe(false);
      expect(res.headers['x-frame-options'], what).toBe('DENY');
      // Both call their own API on this origin.
      expect(csp.get('connect-src') ?? csp.get('default-src'), what).toEqual(["'self'"]);
    }
  });
});

describe('changes from other sites', () => {
  let h: Harness;
  const post = (url: string, headers: Record<string, string>, payload?: string | object) =>
    h.app.inject({ method: 'POST', url, headers, payload });
  /** The unsubscribe link of a subscriber's mails, as a path. */
  const unsubscribePath = async (email: string) => {
    const { id } = (await h.services.db.query<{ id: number }>('SELECT id FROM subscribers WHERE email = $1', [email]))
      .rows[0]!;
    return pathOf(h.services.links.unsubscribe(id));
  };
  /** A preferences link of a subscriber's, as a path (the confirmation mail carries none). */
  const managePath = async (email: string) => {
    const { id } = (await h.services.db.query<{ id: number }>('SELECT id FROM subscribers WHERE email = $1', [email]))
      .rows[0]!;
    return pathOf(h.services.links.manage({ id, token_epoch: 0 }, h.clock.now()));
  };
  const status = async (email: string) =>
    (await h.services.db.query<{ status: string }>('SELECT status FROM subscribers WHERE email = $1', [email])).rows[0]
      ?.status;

  beforeAll(async () => {
    h = await createHarness();
    h.startWorkers();
  });
  afterAll(async () => h?.close());

  /** Headers a browser sends with a form another site made it submit. */
  const forged: Record<string, Record<string, string>> = {
    'Sec-Fetch-Site cross-site': { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
    'Sec-Fetch-Site same-site': { 'sec-fetch-site': 'same-site', origin: 'http://other.paperboy.test' },
    'cross-site without an Origin': { 'sec-fetch-site': 'cross-site' },
    'another Origin, no Sec-Fetch-Site': { origin: 'https://evil.example' },
    'Origin null (a sandboxed frame or a privacy redirect)': { origin: 'null' },
    'another Origin on the same host name': { origin: 'http://paperboy.test:8080' },
  };

  it('refuses the signup form sent from another site with a 403 page, and records nothing', async () => {
    for (const [what, headers] of Object.entries(forged)) {
      const email = `forged-${Object.keys(forged).indexOf(what)}@example.org`;
      const res = await post('/subscribe', { ...FORM, ...headers }, `email=${encodeURIComponent(email)}`);
      expect(res.statusCode, what).toBe(403);
      expect(res.headers['content-type'], what).toMatch(/^text\/html/);
      expect(res.body, what).toContain('That did not work');
      expect(await status(email), what).toBeUndefined();
      // The same refusal whatever the body's type.
      const multipart = await post(
        '/subscribe',
        { ...headers, 'content-type': 'multipart/form-data; boundary=x' },
        `--x\r\ncontent-disposition: form-data; name="email"\r\n\r\n${email}\r\n--x--\r\n`,
      );
      expect(multipart.statusCode, what).toBe(403);
      const plain = await post('/subscribe', { ...headers, 'content-type': 'text/plain' }, `email=${email}`);
      expect(plain.statusCode, what).toBe(403);
    }
  });

  it('takes the signup form from its own page, and from clients that are not browsers', async () => {
    const allowed: Record<string, Record<string, string>> = {
      'Sec-Fetch-Site same-origin': { 'sec-fetch-site': 'same-origin', origin: PUBLIC },
      'Sec-Fetch-Site none (typed or bookmarked)': { 'sec-fetch-site': 'none' },
      'Origin of PUBLIC_URL': { origin: PUBLIC },
      'an older browser: Origin matches Host': { origin: 'http://127.0.0.1:3000', host: '127.0.0.1:3000' },
      'same-origin under another host name than PUBLIC_URL': {
        'sec-fetch-site': 'same-origin',
        origin: 'http://127.0.0.1:3000',
        host: '127.0.0.1:3000',
      },
      'no browser headers (curl, scripts)': {},
    };
    for (const [what, headers] of Object.entries(allowed)) {
      const email = `allowed-${Object.keys(allowed).indexOf(what)}@example.org`;
      const res = await post('/subscribe', { ...FORM, ...headers }, `email=${encodeURIComponent(email)}`);
      expect(res.statusCode, what).toBe(202);
      expect(await status(email), what).toBe('pending');
    }
  });

  it('refuses token forms sent from another site, and takes them from the pages', async () => {
    const email = 'token-forms@example.org';
    await subscribeAndConfirm(h, email);
    const manage = await managePath(email);

    for (const [what, headers] of Object.entries(forged)) {
      for (const url of [`${manage}/pause`, `${manage}/unsubscribe`, `${manage}/erase`, manage]) {
        const res = await post(url, { ...FORM, ...headers }, 'maxPapers=3');
        expect(res.statusCode, `${what} ${url}`).toBe(403);
        expect(res.headers['content-type']).toMatch(/^text\/html/);
      }
    }
    expect(await status(email)).toBe('active');

    const pause = await post(`${manage}/pause`, { ...FORM, 'sec-fetch-site': 'same-origin', origin: PUBLIC });
    expect(pause.statusCode).toBe(200);
    expect(await status(email)).toBe('paused');
    await post(`${manage}/resume`, { 'sec-fetch-site': 'same-origin', origin: PUBLIC });
    expect(await status(email)).toBe('active');

    // The unsubscribe page's button, forged from elsewhere, changes nothing.
    const uToken = await unsubscribePath(email);
    for (const [what, headers] of Object.entries(forged)) {
      expect((await post(uToken, { ...FORM, ...headers }, '')).statusCode, what).toBe(403);
    }
    expect(await status(email)).toBe('active');
    // From the page itself it works, and so does its undo.
    const own = { ...FORM, 'sec-fetch-site': 'same-origin', origin: PUBLIC };
    const unsubscribed = await post(uToken, own, '');
    expect(unsubscribed.body).toContain('You are unsubscribed');
    expect(await status(email)).toBe('unsubscribed');
    const undo = `undo=${encodeURIComponent(/name="undo" value="([^"]+)"/.exec(unsubscribed.body)?.[1] ?? '')}`;
    expect((await post(`${uToken}/undo`, { ...FORM, ...forged['Sec-Fetch-Site cross-site'] }, undo)).statusCode).toBe(
      403,
    );
    expect(await status(email)).toBe('unsubscribed');
    expect((await post(`${uToken}/undo`, own, undo)).body).toContain('You are subscribed again');
    expect(await status(email)).toBe('active');
  });

  it("takes a mail provider's one-click unsubscribe, which carries no browser headers", async () => {
    for (const [i, body] of [
      { 'content-type': 'application/x-www-form-urlencoded', payload: 'List-Unsubscribe=One-Click' },
      {
        'content-type': 'multipart/form-data; boundary=b',
        payload: '--b\r\ncontent-disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--b--\r\n',
      },
    ].entries()) {
      const email = `one-click-${i}@example.org`;
      await subscribeAndConfirm(h, email);
      const url = await unsubscribePath(email);
      const res = await post(
        url,
        { 'content-type': body['content-type'], 'user-agent': 'Mail-Provider/1.0' },
        body.payload,
      );
      expect(res.statusCode).toBe(200);
      expect(await status(email)).toBe('unsubscribed');
    }
  });

  it('takes JSON from clients that are not browsers, and refuses a browser on another site', async () => {
    const email = 'json-client@example.org';
    const res = await post('/api/subscriptions', { 'content-type': 'application/json' }, { email });
    expect(res.statusCode).toBe(202);
    await subscribeAndConfirm(h, 'json-token@example.org');
    const token = (await managePath('json-token@example.org')).split('/')[2];
    const api = `/api/subscription/${token}`;
    const cross = await h.app.inject({
      method: 'PATCH',
      url: api,
      headers: forged['Sec-Fetch-Site cross-site'],
      payload: { maxPapers: 3 },
    });
    expect(cross.statusCode).toBe(403);
    expect(cross.json()).toMatchObject({ error: 'forbidden' });
    const deleted = await h.app.inject({ method: 'DELETE', url: api, headers: { origin: 'https://evil.example' } });
    expect(deleted.statusCode).toBe(403);
    expect(await status('json-token@example.org')).toBe('active');
    const own = await h.app.inject({ method: 'PATCH', url: api, payload: { maxPapers: 3 } });
    expect(own.statusCode).toBe(200);
    // Reading is never refused.
    expect(
      (await h.app.inject({ method: 'GET', url: api, headers: forged['Sec-Fetch-Site cross-site'] })).statusCode,
    ).toBe(200);
  });
});
