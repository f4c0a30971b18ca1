import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../services/api/app.ts';
import { signWebhook, webhookKey } from '../services/api/webhook-signature.ts';
import { createHarness, type Harness } from './support/harness.ts';

/** Bounce and complaint reports from the mail provider: signed, fresh, and each taken once. */
describe('bounce and complaint webhook', () => {
  let h: Harness;
  const secret = 'webhook-secret-0123456789abcdef';
  const key = webhookKey(secret);

  beforeAll(async () => {
    h = await createHarness({ env: { WEBHOOK_SECRET: secret } });
    await h.services.db.query(
      `INSERT INTO subscribers (email, status, next_send_at, confirmed_at)
       SELECT 'reader' || i || '@example.org', 'active', now() + interval '1 day', now()
         FROM generate_series(1, 5) AS i`,
    );
  });
  afterAll(async () => h?.close());

  const now = () => String(Math.floor(Date.now() / 1000));
  /** A request as the provider signs it; `change` alters what is sent after signing. */
  const signed = (
    payload: object,
    opts: { id?: string; timestamp?: string; signWith?: Buffer; body?: string; headers?: object } = {},
  ) => {
    const id = opts.id ?? `msg_${randomUUID()}`;
    const timestamp = opts.timestamp ?? now();
    const body = JSON.stringify(payload);
    return {
      method: 'POST' as const,
      url: '/api/webhooks/bounces',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': timestamp,
        'webhook-signature': signWebhook(opts.signWith ?? key, id, timestamp, body),
        ...opts.headers,
      },
      payload: opts.body ?? body,
    };
  };
  const statuses = async () =>
    Object.fromEntries(
      (await h.services.db.query('SELECT email, status FROM subscribers ORDER BY email')).rows.map((r) => [
        r.email,
        r.status,
      ]),
    );
  const suppressions = async () =>
    (await h.services.db.query<{ n: number }>('SELECT count(*)::int AS n FROM suppressions')).rows[0]?.n;

  it('marks bounces bounced and complaints unsubscribed, suppressing both', async () => {
    const res = await h.app.inject(
      signed({
        events: [
          { email: 'Reader1@example.org', type: 'bounce', reason: '5.1.1' },
          { email: 'reader2@example.org', type: 'complaint' },
          { email: 'stranger@example.org', type: 'bounce' },
        ],
      }),
    );
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ processed: 3, matched: 2 });
    expect(await statuses()).toMatchObject({
      'reader1@example.org': 'bounced',
      'reader2@example.org': 'unsubscribed',
      'reader3@example.org': 'active',
    });
    expect(await suppressions()).toBe(3);
  });

  it('refuses unsigned, wrongly signed and altered requests, and changes nothing', async () => {
    const before = { statuses: await statuses(), suppressions: await suppressions() };
    const event = { email: 'reader3@example.org', type: 'bounce' };
    const attempts = [
      // No signature at all; the old bearer form, not allowed unless configured.
      { method: 'POST' as const, url: '/api/webhooks/bounces', payload: event },
      {
        method: 'POST' as const,
        url: '/api/webhooks/bounces',
        payload: event,
        headers: { authorization: `Bearer ${secret}` },
      },
      // Another key; the body changed after signing; the id changed after signing.
      signed(event, { signWith: randomBytes(32) }),
      signed(event, { body: JSON.stringify({ ...event, email: 'reader4@example.org' }) }),
      { ...signed(event), headers: { ...signed(event).headers, 'webhook-id': 'msg_other' } },
      // An unknown signature version, an empty one, a signature of the right length but wrong.
      signed(event, { headers: { 'webhook-signature': 'v2,abc' } }),
      signed(event, { headers: { 'webhook-signature': '' } }),
      signed(event, { headers: { 'webhook-signature': `v1,${randomBytes(32).toString('base64')}` } }),
      // Not JSON, unsigned: refused before it is parsed (401, not 400).
      {
        method: 'POST' as const,
        url: '/api/webhooks/bounces',
        payload: '{not json',
        headers: { 'content-type': 'application/json' },
      },
    ];
    for (const [i, request] of attempts.entries()) {
      const res = await h.app.inject(request);
      expect(res.statusCode, `attempt ${i}`).toBe(401);
      expect(res.json(), `attempt ${i}`).toMatchObject({ error: 'unauthorized' });
    }
    expect({ statuses: await statuses(), suppressions: await suppressions() }).toEqual(before);
  });

  it('refuses a message whose timestamp is more than 5 minutes from now, however well signed', async () => {
    const event = { email: 'reader3@example.org', type: 'bounce' };
    // A minute past the tolerance each way: the request may reach the server seconds after it was
    // signed on a busy machine, which must not carry a message back inside the window.
    for (const offset of [-360, 360, -86_400]) {
      const timestamp = String(Math.floor(Date.now() / 1000) + offset);
      const res = await h.app.inject(signed(event, { timestamp }));
      expect(res.statusCode, String(offset)).toBe(401);
      expect(res.json().message).toContain('webhook-timestamp');
    }
    for (const timestamp of ['soon', '-1', '1e9', '']) {
      expect((await h.app.inject(signed(event, { timestamp }))).statusCode, timestamp).toBe(401);
    }
    expect((await statuses())['reader3@example.org']).toBe('active');
  });

  it('takes a message once: a replayed webhook-id is refused, even many at once', async () => {
    const request = signed({ email: 'reader3@example.org', type: 'complaint' });
    const first = await h.app.inject(request);
    expect(first.json()).toEqual({ processed: 1, matched: 1 });
    const again = await h.app.inject(request);
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ error: 'replayed' });

    // The same captured request sent twenty times at once: one is taken.
    const burst = signed({ email: 'reader4@example.org', type: 'bounce' });
    const answers = await Promise.all(Array.from({ length: 20 }, () => h.app.inject(burst)));
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, ...Array(19).fill(409)]);
    // A new message for the same address (a new id) is taken: only the id is remembered.
    const next = await h.app.inject(signed({ email: 'reader4@example.org', type: 'bounce' }));
    expect(next.json()).toEqual({ processed: 1, matched: 0 });
  });

  it('takes a secret in the whsec_ form as the base64 key it carries', async () => {
    const raw = randomBytes(24);
    const app = await buildApp({
      ...h.services,
      config: { ...h.services.config, webhookSecret: `whsec_${raw.toString('base64')}` },
    });
    try {
      const event = { email: 'reader5@example.org', type: 'bounce' };
      expect((await app.inject(signed(event, { signWith: raw }))).json()).toEqual({ processed: 1, matched: 1 });
      expect((await app.inject(signed(event))).statusCode).toBe(401);
    } finally {
      await app.close();
    }
  });

  it('takes the shared secret as a bearer token only when WEBHOOK_ALLOW_BEARER is set', async () => {
    const app = await buildApp({ ...h.services, config: { ...h.services.config, webhookAllowBearer: true } });
    try {
      const post = (authorization: string) =>
        app.inject({
          method: 'POST',
          url: '/api/webhooks/bounces',
          headers: { authorization },
          payload: { email: 'reader6@example.org', type: 'bounce' },
        });
      for (const wrong of ['Bearer wrong', `Basic ${secret}`, `Bearer ${secret}x`]) {
        expect((await post(wrong)).statusCode, wrong).toBe(401);
      }
      expect((await post(`Bearer ${secret}`)).json()).toEqual({ processed: 1, matched: 0 });
      // Signed requests still work beside it.
      expect((await app.inject(signed({ email: 'reader6@example.org', type: 'bounce' }))).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('the webhook without WEBHOOK_SECRET', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => h?.close());

  it('is disabled', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/webhooks/bounces',
      payload: { email: 'a@example.org', type: 'bounce' },
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().message).toContain('WEBHOOK_SECRET is not set');
  });
});
