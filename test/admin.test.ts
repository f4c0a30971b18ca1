import { createHash } from 'node:crypto';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../services/api/app.ts';
import { ConfigError, loadConfig } from '../services/core/config.ts';
import { createLogger } from '../services/core/logger.ts';
import { ROOT } from '../services/core/paths.ts';
import { createHarness, eventually, type Harness, subscribeAndConfirm } from './support/harness.ts';

const PASSWORD = 'correct horse: battery staple';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const AS_ADMIN = { authorization: basic('admin', PASSWORD) };
const CHALLENGE = 'Basic realm="Paperboy admin", charset="UTF-8"';
const HF_FIXTURE = path.join(ROOT, 'test/fixtures/hf-daily-papers.json');
const MISSING = path.join(ROOT, 'test/fixtures/no-such-feed.atom');

describe('ADMIN_PASSWORD', () => {
  it('is optional, and at least 16 characters when set', () => {
    expect(loadConfig({}).adminPassword).toBeUndefined();
    expect(loadConfig({ ADMIN_PASSWORD: '' }).adminPassword).toBeUndefined();
    expect(loadConfig({ ADMIN_PASSWORD: PASSWORD }).adminPassword).toBe(PASSWORD);
    expect(() => loadConfig({ ADMIN_PASSWORD: 'too-short' })).toThrow(ConfigError);
    expect(() => loadConfig({ ADMIN_PASSWORD: 'too-short' })).toThrow(
      /ADMIN_PASSWORD: expected at least 16 characters/,
    );
  });
});

describe('admin pages', () => {
  let h: Harness;
  // The SMTP sink refuses this address only while the test asks it to, so it can be confirmed first.
  let refuseBounce = false;
  const get = (url: string, headers: Record<string, string> = AS_ADMIN) =>
    h.app.inject({ method: 'GET', url, headers });

  beforeAll(async () => {
    h = await createHarness({
      env: {
        ADMIN_PASSWORD: PASSWORD,
        // Read only by the test's runConfigured(): one source that works, one that cannot be read.
        SOURCES: 'hf,arxiv',
        HF_DAILY_URL: HF_FIXTURE,
        ARXIV_QUERY_URL: MISSING,
      },
      reject: (rcpt) =>
        refuseBounce && rcpt === 'bounce@example.org' ? { code: 550, message: '5.1.1 No such user' } : undefined,
    });
    h.startWorkers();
  });
  afterAll(async () => h?.close());

  it('does not exist without ADMIN_PASSWORD: every /admin URL is a plain 404', async () => {
    const app = await buildApp({ ...h.services, config: { ...h.config, adminPassword: undefined } });
    try {
      for (const url of ['/admin', '/admin/', '/admin/queues', '/admin/queues/api/queues', '/admin/anything']) {
        for (const headers of [{}, AS_ADMIN]) {
          const res = await app.inject({ method: 'GET', url, headers });
          expect(res.statusCode, url).toBe(404);
          expect(res.headers['www-authenticate'], url).toBeUndefined();
          expect(res.json(), url).toMatchObject({ error: 'not_found' });
        }
      }
    } finally {
      await app.close();
    }
  });

  it('asks for Basic credentials on /admin and everything under it', async () => {
    for (const url of ['/admin', '/admin/', '/admin/queues', '/admin/queues/api/queues', '/admin/nothing-here']) {
      const res = await get(url, {});
      expect(res.statusCode, url).toBe(401);
      expect(res.headers['www-authenticate'], url).toBe(CHALLENGE);
    }
    const page = await get('/admin', {});
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).not.toContain('Subscribers');
    const api = await get('/admin/queues/api/queues', {});
    expect(api.json()).toEqual({ error: 'unauthorized', message: expect.any(String) });
  });

  it('refuses a wrong password, a wrong user and malformed credentials', async () => {
    const wrong = [
      basic('admin', 'correct horse: battery stapl'),
      basic('admin', `${PASSWORD} `),
      basic('Admin', PASSWORD),
      basic('root', PASSWORD),
      basic('', PASSWORD),
      `Basic ${Buffer.from(PASSWORD).toString('base64')}`,
      `Bearer ${PASSWORD}`,
      'Basic',
      'Basic !!!',
      `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')} trailing`,
    ];
    // Each from an address of its own, so none of them reaches the limit on failed logins.
    for (const [i, authorization] of wrong.entries()) {
      for (const url of ['/admin', '/admin/queues', '/admin/queues/api/queues']) {
        const res = await h.app.inject({
          method: 'GET',
          url,
          headers: { authorization },
          remoteAddress: `192.0.2.${i}`,
        });
        expect(res.statusCode, `${url} ${authorization}`).toBe(401);
        expect(res.headers['www-authenticate']).toBe(CHALLENGE);
      }
    }
  });

  it('answers the right credentials with the status page', async () => {
    const res = await get('/admin');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toContain('<h1>Admin</h1>');
    for (const href of ['/admin/queues', '/metrics', '/readyz']) expect(res.body).toContain(`<a href="${href}">`);
    expect(res.body).toContain('No digest has been planned yet.');
    expect(res.body).not.toContain('<script');
    // The scheme is case-insensitive; unknown paths behind the password are 404s.
    expect((await get('/admin/', { authorization: AS_ADMIN.authorization.replace('Basic', 'basic') })).statusCode).toBe(
      200,
    );
    expect((await get('/admin/nothing-here')).statusCode).toBe(404);
  });

  it('shows subscribers by status, digest days, ingest runs and suppressions', async () => {
    await subscribeAndConfirm(h, 'ada@example.org');
    await subscribeAndConfirm(h, 'bounce@example.org');
    await subscribeAndConfirm(h, 'erase-me@example.org');
    const pending = await h.app.inject({
      method: 'POST',
      url: '/api/subscriptions',
      payload: { email: 'pending@example.org' },
    });
    expect(pending.statusCode).toBe(202);

    const { id } = (
      await h.services.db.query<{ id: number }>("SELECT id FROM subscribers WHERE email = 'erase-me@example.org'")
    ).rows[0]!;
    await h.services.manage.erase(h.services.links.manageToken({ id, token_epoch: 0 }, h.clock.now()));

    refuseBounce = true;
    const run = await h.services.digests.runNow(new Date('2026-03-03T08:00:30Z'));
    refuseBounce = false;
    expect(run).toMatchObject({ due: 2, sent: 1, bounced: 1 });

    await h.services.papers.ingest(HF_FIXTURE, 'hf');
    const scheduled = await h.services.papers.runConfigured();
    expect(scheduled.failures).toEqual([expect.stringMatching(/^arxiv: cannot read .*no-such-feed\.atom: ENOENT$/)]);

    const { rows: runs } = await h.services.db.query(
      'SELECT source, location, status, entries, new, updated, unchanged, skipped, error FROM ingest_runs ORDER BY id',
    );
    expect(runs).toEqual([
      {
        source: 'hf',
        location: HF_FIXTURE,
        status: 'ok',
        entries: 6,
        new: 3,
        updated: 0,
        unchanged: 0,
        skipped: 3,
        error: null,
      },
      expect.objectContaining({ source: 'hf', status: 'ok', entries: 6, new: 0, skipped: 3, error: null }),
      {
        source: 'arxiv',
        location: MISSING,
        status: 'failed',
        entries: null,
        new: null,
        updated: null,
        unchanged: null,
        skipped: null,
        error: `cannot read ${MISSING}: ENOENT`,
      },
    ]);

    const res = await get('/admin');
    expect(res.statusCode).toBe(200);
    const body = res.body;
    const row = (cells: (string | number)[]) => cells.map((c) => `<td>${c}</td>`).join('');

    // Subscribers: the erased one is gone, the bounced one is counted as bounced.
    for (const [status, n] of [
      ['pending', 1],
      ['active', 1],
      ['paused', 0],
      ['unsubscribed', 0],
      ['bounced', 1],
      ['all', 3],
    ] as const) {
      expect(body).toContain(`<tr><th scope="row">${status}</th><td>${n}</td></tr>`);
    }

    // The day's digests: due, sent, failed, bounced, skipped, still owed.
    expect(body).toContain(`<tr><th scope="row">2026-03-03</th>${row([2, 1, 0, 1, 0, 0])}</tr>`);

    // Ingest runs, newest first: the failed read, then the two reads of the fixture.
    const ingest = body.slice(body.indexOf('id="ingest"'), body.indexOf('id="suppressions"'));
    expect(ingest).toContain(`<strong>failed</strong>: cannot read ${MISSING}: ENOENT</td>${row(Array(5).fill('—'))}`);
    expect(ingest).toContain(`<td>ok</td>${row([6, 3, 0, 0, 3])}`);
    expect(ingest).toContain(`<span class="muted break">${HF_FIXTURE}</span>`);
    expect(ingest.indexOf('failed')).toBeLessThan(ingest.indexOf('<td>ok</td>'));
    expect(ingest.match(/<td>ok<\/td>/g)).toHaveLength(2);

    // Suppressions show the start of the hash and the reason, never an address.
    const hash = (email: string) =>
      createHash('sha256').update(`paperboy-suppression:${email}`).digest('hex').slice(0, 12);
    const suppressions = body.slice(body.indexOf('id="suppressions"'));
    expect(suppressions).toContain('2 in all');
    expect(suppressions).toContain(`<code>${hash('erase-me@example.org')}</code></td><td>erased</td>`);
    expect(suppressions).toContain(`<code>${hash('bounce@example.org')}</code></td><td>bounced</td>`);
    expect(body).not.toContain('@example.org');
  });

  it('serves the BullMQ dashboard and its API at /admin/queues', async () => {
    const ui = await get('/admin/queues');
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toMatch(/^text\/html/);
    expect(ui.body).toContain('<base href="/admin/queues/" />');

    const api = await get('/admin/queues/api/queues');
    expect(api.statusCode).toBe(200);
    expect(api.headers['content-type']).toMatch(/^application\/json/);
    const names = (api.json() as { queues: { name: string }[] }).queues.map((q) => q.name).sort();
    expect(names).toEqual(['digest', 'ingest', 'mail', 'maintenance', 'relevance']);

    // Its static files sit behind the same password.
    const asset = `/admin/queues/${ui.body.match(/src="(static\/js\/main\.[^"]+)"/)?.[1]}`;
    expect(asset).toMatch(/\.js$/);
    const script = await get(asset, {});
    expect(script.statusCode).toBe(401);
    expect(script.headers['www-authenticate']).toBe(CHALLENGE);
    expect((await get(asset)).statusCode).toBe(200);
  });

  it('limits failed logins per address, refusing even the right password until the window ends', async () => {
    const from = (remoteAddress: string, authorization?: string, url = '/admin') =>
      h.app.inject({ method: 'GET', url, remoteAddress, headers: authorization ? { authorization } : {} });
    const guess = (n: number) => basic('admin', `guess number ${n}`);
    const attacker = '198.51.100.7';
    for (let n = 1; n <= 10; n++) {
      const res = await from(attacker, guess(n), n % 2 ? '/admin' : '/admin/queues/api/queues');
      expect(res.statusCode, `guess ${n}`).toBe(401);
    }
    const limited = await from(attacker, guess(11));
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['content-type']).toMatch(/^text\/html/);
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    // The right password from there is refused the same way: the answer tells no guess apart.
    const right = await from(attacker, AS_ADMIN.authorization);
    expect(right.statusCode).toBe(429);
    expect(right.body).not.toContain('<h1>Admin</h1>');
    const api = await from(attacker, AS_ADMIN.authorization, '/admin/queues/api/queues');
    expect(api.statusCode).toBe(429);
    expect(api.json()).toMatchObject({ error: 'rate_limited' });
    // A browser's first request, without credentials, still gets the login prompt.
    expect((await from(attacker)).statusCode).toBe(401);
    // Another address is not affected, and a right password is no failure.
    expect((await from('198.51.100.8', AS_ADMIN.authorization)).statusCode).toBe(200);

    // Once the window ends (made to end now), the right password works again from there.
    const keys = await h.services.queues.redis.keys(`${h.config.queuePrefix}:ratelimit:admin-login:*`);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.some((k) => k.includes(attacker))).toBe(false);
    for (const k of keys) await h.services.queues.redis.pexpire(k, 1);
    await eventually(async () => expect((await from(attacker, AS_ADMIN.authorization)).statusCode).toBe(200));
  });

  it('takes changes to queues only from its own pages', async () => {
    const put = (url: string, headers: Record<string, string>) =>
      h.app.inject({ method: 'PUT', url, headers: { ...AS_ADMIN, ...headers } });
    const ingest = h.services.queues.get('ingest');

    for (const site of ['cross-site', 'same-site']) {
      const res = await put('/admin/queues/api/queues/ingest/pause', { 'sec-fetch-site': site });
      expect(res.statusCode, site).toBe(403);
      expect(res.json()).toMatchObject({ error: 'forbidden' });
    }
    expect(await ingest.isPaused()).toBe(false);

    expect((await put('/admin/queues/api/queues/ingest/pause', { 'sec-fetch-site': 'same-origin' })).statusCode).toBe(
      200,
    );
    expect(await ingest.isPaused()).toBe(true);
    // A client that is not a browser sends no Sec-Fetch-Site: its credentials are enough.
    expect((await put('/admin/queues/api/queues/ingest/resume', {})).statusCode).toBe(200);
    expect(await ingest.isPaused()).toBe(false);
    // Reading stays possible whatever the browser says.
    expect((await get('/admin/queues/api/queues', { ...AS_ADMIN, 'sec-fetch-site': 'cross-site' })).statusCode).toBe(
      200,
    );
  });

  it('keeps admin routes out of the public OpenAPI document', async () => {
    const doc = (await h.app.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: object };
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/admin'))).toEqual([]);
  });

  it('never writes the password or the credentials to the log', async () => {
    let logged = '';
    const sink = new Writable({
      write(chunk, _enc, done) {
        logged += chunk.toString();
        done();
      },
    });
    const log = createLogger('trace', 'admin-test', sink);
    const app = await buildApp({ ...h.services, log });
    try {
      await app.inject({ method: 'GET', url: '/admin', headers: AS_ADMIN });
      await app.inject({ method: 'GET', url: '/admin/queues/api/queues', headers: AS_ADMIN });
      await app.inject({ method: 'GET', url: '/admin', headers: { authorization: basic('admin', `${PASSWORD}!`) } });
      // Whoever logs a request's headers gets the Authorization header redacted.
      log.info({ req: { headers: AS_ADMIN } }, 'request headers');
      log.info({ headers: AS_ADMIN }, 'headers');
    } finally {
      await app.close();
    }
    await new Promise((r) => setImmediate(r));
    expect(logged).toContain('admin: wrong user name or password');
    expect(logged).toContain('"authorization":"[Redacted]"');
    for (const secret of [PASSWORD, AS_ADMIN.authorization, Buffer.from(`admin:${PASSWORD}`).toString('base64')]) {
      expect(logged).not.toContain(secret);
    }
  });
});
