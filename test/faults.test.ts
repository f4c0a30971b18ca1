import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../services/local/ports.ts';
import { createHarness, eventually, type Harness } from './support/harness.ts';

describe('with Redis unreachable', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ env: { REDIS_URL: `redis://127.0.0.1:${await freePort()}` } });
  });
  afterAll(async () => h?.close());

  it('answers a signup with 503 and Retry-After, and records nothing', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/subscriptions',
      payload: { email: 'wait@example.org' },
    });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('30');
    expect(res.json()).toMatchObject({ error: 'unavailable' });
    const { rows } = await h.services.db.query('SELECT count(*)::int AS n FROM subscribers');
    expect(rows[0]?.n).toBe(0);
  });

  it('is not ready, and says which server is missing', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'unavailable', checks: { postgres: 'ok', redis: 'unreachable', smtp: 'ok' } });
  });
});

describe('a signup whose mail never reached the queue', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
    h.startWorkers();
  });
  afterAll(async () => h?.close());

  it('gets its confirmation from the sweeper, once', async () => {
    // Recorded, but the enqueue after it failed: pending, no mail sent, a while ago.
    await h.services.db.query(
      "INSERT INTO subscribers (email, status, updated_at) VALUES ('lost@example.org', 'pending', now() - interval '10 minutes')",
    );
    expect(await h.services.signups.sweepUnsent(new Date(), 300)).toBe(1);
    expect(await h.services.signups.sweepUnsent(new Date(), 300)).toBe(0); // queued: not taken again while it waits
    await eventually(async () => expect(h.sink.to('lost@example.org')).toHaveLength(1));
    await eventually(async () => expect(await h.services.signups.sweepUnsent(new Date(), 300)).toBe(0));
    expect(h.sink.to('lost@example.org')).toHaveLength(1);
  });
});
