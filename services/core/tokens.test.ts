import { describe, expect, it } from 'vitest';
import { createTokens, generateSecret } from './tokens.ts';

const secret = 'a'.repeat(40);

describe('link tokens', () => {
  const tokens = createTokens([secret]);

  it('round-trips the subscriber id for the same purpose', () => {
    expect(tokens.verify('unsubscribe', tokens.sign('unsubscribe', 12345))).toBe(12345);
  });

  it('rejects a token signed for another purpose', () => {
    const t = tokens.sign('manage', 7);
    expect(() => tokens.verify('unsubscribe', t)).toThrow(/not valid/);
  });

  it('rejects a token whose id was changed', () => {
    const [, exp, mac] = tokens.sign('unsubscribe', 7).split('.');
    expect(() => tokens.verify('unsubscribe', `8.${exp}.${mac}`)).toThrow(/not valid/);
  });

  it('rejects truncated, padded and garbage tokens with a 400', () => {
    const t = tokens.sign('confirm', 42);
    for (const bad of [t.slice(0, -1), `${t}A`, '', '...', 'x'.repeat(500), `${t}\n`, '1.2.3']) {
      let status = 0;
      try {
        tokens.verify('confirm', bad);
      } catch (e) {
        status = (e as { status: number }).status;
      }
      expect(status, bad).toBe(400);
    }
  });

  it('rejects every other spelling of the MAC, including ones that decode to the same bytes', () => {
    const t = tokens.sign('unsubscribe', 7);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (const c of alphabet) {
      const variant = t.slice(0, -1) + c;
      if (variant !== t) expect(() => tokens.verify('unsubscribe', variant), variant).toThrow(/not valid/);
    }
  });

  it('rejects a token signed with a secret it does not know', () => {
    const foreign = createTokens([generateSecret()]).sign('unsubscribe', 1);
    expect(() => tokens.verify('unsubscribe', foreign)).toThrow(/not valid/);
  });

  it('accepts tokens from every configured secret, signs with the first', () => {
    const old = createTokens([secret]).sign('unsubscribe', 9);
    const rotated = createTokens(['b'.repeat(40), secret]);
    expect(rotated.verify('unsubscribe', old)).toBe(9);
    expect(() => tokens.verify('unsubscribe', rotated.sign('unsubscribe', 9))).toThrow(/not valid/);
  });

  it('expires tokens that carry an expiry', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const t = tokens.sign('confirm', 3, new Date('2026-01-08T00:00:00Z'));
    expect(tokens.verify('confirm', t, now)).toBe(3);
    expect(() => tokens.verify('confirm', t, new Date('2026-01-08T00:00:01Z'))).toThrow(/expired/);
  });

  it('does not reveal the address', () => {
    expect(tokens.sign('unsubscribe', 5)).not.toMatch(/@/);
  });
});

describe('link epochs', () => {
  const tokens = createTokens([secret]);

  it('writes epoch 0 as before epochs existed, so links mailed earlier still verify', () => {
    const t = tokens.sign('manage', 7, new Date('2026-01-08T00:00:00Z'));
    expect(t.split('.')).toHaveLength(3);
    expect(t).toBe(tokens.sign('manage', 7, new Date('2026-01-08T00:00:00Z'), 0));
    expect(tokens.open('manage', t)).toEqual({ id: 7, expiresAt: new Date('2026-01-08T00:00:00Z'), epoch: 0 });
    // A token signed by the earlier format: id, empty expiry, MAC over `paperboy/<purpose>/<id>/`.
    expect(tokens.open('unsubscribe', tokens.sign('unsubscribe', 7))).toEqual({
      id: 7,
      expiresAt: undefined,
      epoch: 0,
    });
  });

  it('carries a later epoch, which cannot be changed or dropped', () => {
    const t = tokens.sign('manage', 7, undefined, 3);
    expect(tokens.open('manage', t)).toMatchObject({ id: 7, epoch: 3 });
    const [id, exp, , mac] = t.split('.');
    for (const forged of [`${id}.${exp}.4.${mac}`, `${id}.${exp}.${mac}`, `${id}.${exp}.03.${mac}`]) {
      expect(() => tokens.open('manage', forged), forged).toThrow(/not valid/);
    }
  });

  it('opens an expired token (for an offer of a fresh link) where verify refuses it', () => {
    const t = tokens.sign('manage', 3, new Date('2026-01-08T00:00:00Z'));
    expect(tokens.open('manage', t).expiresAt).toEqual(new Date('2026-01-08T00:00:00Z'));
    expect(() => tokens.verify('manage', t, new Date('2026-01-09T00:00:00Z'))).toThrow(/expired/);
    expect(() => tokens.open('manage', `${t.slice(0, -1)}${t.endsWith('A') ? 'B' : 'A'}`)).toThrow(/not valid/);
  });
});
