import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PreferencesInput } from '../services/subscribers/preferences.ts';
import { isTimezone } from '../services/subscribers/schemas.ts';
import { SignupInput } from '../services/subscribers/signup.ts';
import { createHarness, type Harness, linkIn, parse, pathOf, subscribeAndConfirm } from './support/harness.ts';

/** Percent-encodes a string's UTF-8 bytes (lone surrogates included, which encodeURIComponent refuses). */
const encodePathSegment = (s: string) =>
  [...Buffer.from(s, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9._~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`,
    )
    .join('');

/**
 * Property tests: malformed, hostile and forged requests at every endpoint get a 4xx in the
 * documented shape and change nothing in the database.
 */
describe('hostile input at every endpoint', () => {
  let h: Harness;
  const tokens = { manage: '', unsubscribe: '', confirm: '', view: '' };
  let fingerprint = '';

  /** Every row that a request could change, as text: compared whole, and shown where it differs. */
  const dbRows = async () =>
    (
      await h.services.db.query<{ row: string }>(`
        SELECT 'subscriber ' || s::text AS row FROM subscribers s
        UNION ALL SELECT 'delivery ' || d::text FROM deliveries d
        UNION ALL SELECT 'suppression ' || x::text FROM suppressions x
        ORDER BY 1`)
    ).rows.map((r) => r.row);
  const dbFingerprint = async () => (await dbRows()).join('\n');
  /** The rows that differ from the baseline: what changed, for a failure to say. */
  const changes = (now: string) => {
    const before = new Set(fingerprint.split('\n'));
    const after = new Set(now.split('\n'));
    return [
      ...[...before].filter((r) => !after.has(r)).map((r) => `- ${r}`),
      ...[...after].filter((r) => !before.has(r)).map((r) => `+ ${r}`),
    ].join('\n');
  };

  beforeAll(async () => {
    h = await createHarness();
    h.startWorkers();
    await subscribeAndConfirm(h, 'fuzz@example.org');
    await h.services.digests.runNow(new Date('2026-03-03T08:00:00Z'));
    const digest = await parse(h.sink.to('fuzz@example.org').at(-1)!);
    const confirm = await parse(h.sink.to('fuzz@example.org')[0]!);
    tokens.manage = pathOf(linkIn(digest, '/manage/')).split('/')[2] as string;
    tokens.unsubscribe = pathOf(linkIn(digest, '/u/')).split('/')[2] as string;
    tokens.confirm = pathOf(linkIn(confirm, '/confirm/')).split('/')[2] as string;
    tokens.view = pathOf(linkIn(digest, '/d/')).split('/')[2] as string;
    // Nothing may change the database in the background from here on (a retried job would).
    await h.stopWorkers();
    fingerprint = await dbFingerprint();
  });
  afterAll(async () => h?.close());

  /** Every rejection: a 4xx, `{error, message}` from the API or an HTML page, and no database change. */
  async function expectRejected(res: LightMyRequestResponse, what: string) {
    expect(res.statusCode, `${what} → ${res.statusCode} ${res.body.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
    expect(res.statusCode, what).toBeLessThan(500);
    if (/json/.test(String(res.headers['content-type']))) {
      const body = res.json();
      expect(Object.keys(body).sort(), what).toEqual(['error', 'message']);
      expect(typeof body.error).toBe('string');
      expect(typeof body.message).toBe('string');
    } else {
      expect(res.headers['content-type'], what).toMatch(/text\/html/);
      expect(res.body).toContain('</html>');
    }
    const now = await dbFingerprint();
    if (now !== fingerprint) expect.fail(`${what} changed the database:\n${changes(now)}`);
  }

  // --- generators ---------------------------------------------------------------------------
  const controls = fc.constantFrom('\r\n', '\n', '\r', '\u0000', '\u2028', '\u007f', '\t\r\nBcc: victim@example.org');
  const nasty = fc.constantFrom(
    "'; DROP TABLE subscribers; --",
    '<script>alert(1)</script>',
    '"><img src=x onerror=alert(1)>',
    '\uD800',
    '%0d%0a',
    '{{constructor.constructor}}',
    '😀',
    'é',
    '../../etc/passwd',
  );
  const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), nasty);
  const withControl = fc.tuple(text, controls, text).map(([a, c, b]) => a + c + b);
  const notBlank = (s: string) => s.trim() !== '';
  const anyJson = fc.oneof(fc.jsonValue(), text, fc.array(text), fc.constant(null));
  const nonString = fc.oneof(
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.integer()),
    fc.object(),
  );

  const invalidEmail = fc.oneof(
    withControl.map((s) => `a${s}@example.org`),
    text.filter((s) => !s.includes('@') && notBlank(s)),
    fc.constant(`${'a'.repeat(250)}@example.org`),
    nonString,
  );
  const invalidWhole = (min: number, max: number) =>
    fc.oneof(
      fc.integer({ min: max + 1 }),
      fc.integer({ max: min - 1 }),
      fc.double({ noNaN: true }).filter((d) => !Number.isInteger(d)),
      text.filter((s) => notBlank(s) && !/^\s*-?\d+\s*$/.test(s)),
      fc.boolean(),
      fc.array(fc.integer({ min, max }), { minLength: 1 }),
    );
  const invalidField: Record<string, fc.Arbitrary<unknown>> = {
    hour: invalidWhole(0, 23),
    weekday: invalidWhole(1, 7),
    maxPapers: invalidWhole(1, 25),
    timezone: fc.oneof(
      withControl,
      text.filter((s) => notBlank(s) && !isTimezone(s)),
      nonString.filter((v) => v !== null),
    ),
    frequency: fc.oneof(
      text.filter((s) => notBlank(s) && s !== 'daily' && s !== 'weekly'),
      fc.integer(),
    ),
    topics: fc.oneof(
      fc.array(withControl, { minLength: 1 }),
      fc.array(fc.string({ minLength: 61 }), { minLength: 1 }),
      fc.array(fc.integer(), { minLength: 1 }),
      fc.array(fc.string({ minLength: 1 }), { minLength: 51, maxLength: 60 }),
    ),
    unknownKey: anyJson,
  };
  /** A preferences object with one field that must be rejected, among otherwise valid ones. */
  const badPreferences = fc.constantFrom(...Object.keys(invalidField)).chain((key) =>
    (invalidField[key] as fc.Arbitrary<unknown>).map((value) => ({
      hour: 9,
      timezone: 'Europe/Paris',
      [key === 'unknownKey' ? 'sneaky' : key]: value,
    })),
  );
  const badSignup = fc.oneof(
    invalidEmail.map((email) => ({ email })),
    badPreferences.map((p) => ({ email: 'new-person@example.org', ...p })),
    anyJson.filter((v) => !SignupInput.safeParse(v).success),
  );

  const brokenJson = fc.string().filter((s) => {
    try {
      JSON.parse(s);
      return false;
    } catch {
      return true;
    }
  });
  const rawBodies = fc.oneof(
    brokenJson.map((s) => ({ type: 'application/json', body: s as string | Buffer })),
    fc
      .uint8Array({ minLength: 1, maxLength: 200 })
      .map((b) => ({ type: 'application/json', body: Buffer.from([0xff, 0xfe, ...b]) })),
    fc.integer({ min: 50, max: 5000 }).map((n) => ({ type: 'application/json', body: '['.repeat(n) + ']'.repeat(n) })),
    fc
      .integer({ min: 17_000, max: 40_000 })
      .map((n) => ({ type: 'application/json', body: `{"email":"${'a'.repeat(n)}@x.org"}` })),
    fc.constantFrom('text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'image/png').map((type) => ({
      type,
      body: '{"email":"valid@example.org"}',
    })),
  );

  const tampered = (token: string, foreign: string) =>
    fc
      .oneof(
        fc
          .nat({ max: token.length - 1 })
          .chain((i) =>
            fc
              .constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.')
              .map((c) => token.slice(0, i) + c + token.slice(i + 1)),
          ),
        fc.nat({ max: token.length - 1 }).map((i) => token.slice(0, i)),
        text.map((s) => token + s),
        fc.string({ maxLength: 300 }),
        fc.constant(foreign),
        fc.constant(token.replace(/^[^.]+/, '1')),
      )
      // "." and ".." are not a path segment a client can send: URL resolution removes them
      // (RFC 3986 dot-segments), so `/u/..` is a request for `/`, not a token at /u/.
      .filter((t) => t !== token && t !== '.' && t !== '..');

  // 500 generated cases per property (several thousand requests in all, about 10 s);
  // FUZZ_RUNS=5000 npx vitest run test/fuzz.test.ts for a longer hunt.
  const runs = { numRuns: Number(process.env.FUZZ_RUNS ?? 500) };

  // --- properties ---------------------------------------------------------------------------
  it('POST /api/subscriptions rejects invalid bodies', async () => {
    await fc.assert(
      fc.asyncProperty(badSignup, async (body) => {
        const res = await h.app.inject({
          method: 'POST',
          url: '/api/subscriptions',
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify(body),
        });
        await expectRejected(res, `signup ${JSON.stringify(body)}`);
      }),
      runs,
    );
  });

  it('POST /api/subscriptions rejects broken JSON, bad bytes, deep nesting, huge bodies and wrong content types', async () => {
    await fc.assert(
      fc.asyncProperty(rawBodies, async ({ type, body }) => {
        const res = await h.app.inject({
          method: 'POST',
          url: '/api/subscriptions',
          headers: { 'content-type': type },
          payload: body,
        });
        await expectRejected(res, `signup raw ${type}`);
      }),
      runs,
    );
  });

  it('POST /subscribe (the form) rejects invalid fields', async () => {
    const field = fc.oneof(text, withControl);
    await fc.assert(
      fc.asyncProperty(
        invalidEmail.filter((e) => typeof e === 'string'),
        fc.dictionary(fc.constantFrom('topics', 'hour', 'timezone', 'x'), field),
        async (email, rest) => {
          const payload = new URLSearchParams({ email: email as string, ...rest }).toString();
          const res = await h.app.inject({
            method: 'POST',
            url: '/subscribe',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            payload,
          });
          await expectRejected(res, `form ${payload}`);
        },
      ),
      runs,
    );
  });

  it('PATCH /api/subscription/:token and POST /manage/:token reject invalid preferences', async () => {
    await fc.assert(
      fc.asyncProperty(
        badPreferences.filter((p) => !PreferencesInput.safeParse(p).success),
        async (prefs) => {
          const api = await h.app.inject({
            method: 'PATCH',
            url: `/api/subscription/${tokens.manage}`,
            headers: { 'content-type': 'application/json' },
            payload: JSON.stringify(prefs),
          });
          await expectRejected(api, `patch ${JSON.stringify(prefs)}`);
          const formBody = new URLSearchParams(
            Object.entries(prefs).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
          ).toString();
          // Flattened into a form, a few invalid JSON values read as valid strings ("[1,2]" as two topics).
          if (PreferencesInput.safeParse(Object.fromEntries(new URLSearchParams(formBody))).success) return;
          const page = await h.app.inject({
            method: 'POST',
            url: `/manage/${tokens.manage}`,
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            payload: formBody,
          });
          await expectRejected(page, `manage form ${formBody}`);
        },
      ),
      runs,
    );
  });

  it('every token endpoint refuses tampered, truncated and foreign tokens', async () => {
    const routes: [
      method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
      path: (t: string) => string,
      purpose: keyof typeof tokens,
    ][] = [
      ['GET', (t) => `/confirm/${t}`, 'confirm'],
      ['POST', (t) => `/confirm/${t}`, 'confirm'],
      ['GET', (t) => `/u/${t}`, 'unsubscribe'],
      ['POST', (t) => `/u/${t}`, 'unsubscribe'],
      ['POST', (t) => `/u/${t}/undo`, 'unsubscribe'],
      ['POST', (t) => `/u/${t}/manage-link`, 'unsubscribe'],
      ['GET', (t) => `/d/${t}`, 'view'],
      ['GET', (t) => `/manage/${t}`, 'manage'],
      ['POST', (t) => `/manage/${t}`, 'manage'],
      ['POST', (t) => `/manage/${t}/pause`, 'manage'],
      ['POST', (t) => `/manage/${t}/unsubscribe`, 'manage'],
      ['POST', (t) => `/manage/${t}/new-link`, 'manage'],
      ['POST', (t) => `/manage/${t}/revoke-links`, 'manage'],
      ['POST', (t) => `/manage/${t}/erase`, 'manage'],
      ['GET', (t) => `/manage/${t}/export`, 'manage'],
      ['GET', (t) => `/api/subscription/${t}`, 'manage'],
      ['PATCH', (t) => `/api/subscription/${t}`, 'manage'],
      ['POST', (t) => `/api/subscription/${t}/pause`, 'manage'],
      ['POST', (t) => `/api/subscription/${t}/unsubscribe`, 'manage'],
      ['POST', (t) => `/api/subscription/${t}/revoke-links`, 'manage'],
      ['GET', (t) => `/api/subscription/${t}/export`, 'manage'],
      ['DELETE', (t) => `/api/subscription/${t}`, 'manage'],
    ];
    for (const [method, path, purpose] of routes) {
      const foreign = purpose === 'manage' ? tokens.unsubscribe : tokens.manage;
      await fc.assert(
        fc.asyncProperty(tampered(tokens[purpose], foreign), async (t) => {
          const url = path(encodePathSegment(t));
          const res = await h.app.inject({
            method,
            url,
            ...(method === 'GET' || method === 'DELETE'
              ? {}
              : {
                  headers: { 'content-type': 'application/x-www-form-urlencoded' },
                  payload: 'List-Unsubscribe=One-Click',
                }),
          });
          await expectRejected(res, `${method} ${url}`);
        }),
        { numRuns: Math.ceil(runs.numRuns / 2) },
      );
    }
  });

  it('still serves the untouched subscriber afterwards', async () => {
    const res = await h.app.inject({ method: 'GET', url: `/api/subscription/${tokens.manage}` });
    expect(res.json()).toMatchObject({ email: 'fuzz@example.org', status: 'active' });
  });
});
