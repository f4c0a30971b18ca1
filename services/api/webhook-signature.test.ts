import { describe, expect, it } from 'vitest';
import { headerProblem, signatureMatches, signWebhook, webhookKey } from './webhook-signature.ts';

describe('Standard Webhooks signatures', () => {
  // The example of the Standard Webhooks specification's reference libraries.
  const key = webhookKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
  const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
  const timestamp = '1614265330';
  const body = '{"test": 2432232314}';

  it('signs "id.timestamp.body" with HMAC-SHA256 under the base64 key of a whsec_ secret', () => {
    expect(signWebhook(key, id, timestamp, body)).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('matches any one of several signatures, and only v1 ones', () => {
    const good = signWebhook(key, id, timestamp, body);
    const h = (signature: string) => ({ id, timestamp, signature });
    expect(signatureMatches(key, h(good), body)).toBe(true);
    expect(signatureMatches(key, h(`v1,c29tZXRoaW5nIGVsc2U= ${good}`), body)).toBe(true);
    expect(signatureMatches(key, h(good.replace('v1,', 'v2,')), body)).toBe(false);
    expect(signatureMatches(key, h(good), `${body} `)).toBe(false);
    expect(signatureMatches(key, { id: `${id}x`, timestamp, signature: good }, body)).toBe(false);
    expect(signatureMatches(webhookKey('another-secret-of-some-length'), h(good), body)).toBe(false);
  });

  it('uses any other secret as its own bytes', () => {
    expect(webhookKey('plain-secret-0123456789abcdef')).toEqual(Buffer.from('plain-secret-0123456789abcdef'));
  });

  it('refuses missing headers and a timestamp more than 5 minutes away, either way', () => {
    const at = new Date(Number(timestamp) * 1000);
    const ok = { id, timestamp, signature: 'v1,x' };
    expect(headerProblem(ok, at)).toBeUndefined();
    expect(headerProblem(ok, new Date(at.getTime() + 300_000))).toBeUndefined();
    expect(headerProblem(ok, new Date(at.getTime() + 301_000))).toMatch(/webhook-timestamp/);
    expect(headerProblem(ok, new Date(at.getTime() - 301_000))).toMatch(/webhook-timestamp/);
    expect(headerProblem({ ...ok, id: undefined }, at)).toMatch(/required/);
    expect(headerProblem({ ...ok, timestamp: '1.5e9' }, at)).toMatch(/Malformed/);
  });
});
