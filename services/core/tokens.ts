import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Invalid } from './errors.ts';

export const TOKEN_PURPOSES = ['confirm', 'manage', 'unsubscribe', 'view-digest'] as const;
export type TokenPurpose = (typeof TOKEN_PURPOSES)[number];

export interface Tokens {
  /** `id` is a subscriber's, or for `view-digest` a delivery's (which belongs to one subscriber). */
  sign(purpose: TokenPurpose, id: number, expiresAt?: Date): string;
  /** Returns the id, or throws `Invalid` for a token that is malformed, forged, foreign or expired. */
  verify(purpose: TokenPurpose, token: string, now?: Date): number;
}

const MAC_BYTES = 16;

/**
 * Link tokens: `<subscriber id>.<expiry>.<mac>`, all base36/base64url so they sit in a URL path.
 * The MAC (HMAC-SHA256, truncated to 128 bits) covers purpose, id and expiry, so a token for one
 * purpose or subscriber cannot be turned into another. The first secret signs; every secret
 * verifies, so secrets can be rotated without breaking links already mailed.
 */
export function createTokens(secrets: readonly string[]): Tokens {
  if (secrets.length === 0) throw new Error('at least one token secret is required');
  const mac = (secret: string, body: string) =>
    createHmac('sha256', secret).update(body).digest().subarray(0, MAC_BYTES);
  const body = (purpose: TokenPurpose, id: string, exp: string) => `paperboy/${purpose}/${id}/${exp}`;

  return {
    sign(purpose, subscriberId, expiresAt) {
      const id = subscriberId.toString(36);
      const exp = expiresAt ? Math.ceil(expiresAt.getTime() / 1000).toString(36) : '';
      return `${id}.${exp}.${mac(secrets[0] as string, body(purpose, id, exp)).toString('base64url')}`;
    },
    verify(purpose, token, now = new Date()) {
      const m = /^([0-9a-z]{1,13})\.([0-9a-z]{0,10})\.([A-Za-z0-9_-]{22})$/.exec(token);
      if (!m) throw new Invalid('This link is not valid. Check that it was copied whole.', 'invalid_token');
      const [, id, exp, given] = m as unknown as [string, string, string, string];
      // Compare the text, not decoded bytes: the last base64url character carries spare bits, so
      // several spellings decode to the same MAC and a tampered token would otherwise pass.
      const givenMac = Buffer.from(given);
      const ok = secrets.some((s) => {
        const expected = Buffer.from(mac(s, body(purpose, id, exp)).toString('base64url'));
        return expected.length === givenMac.length && timingSafeEqual(expected, givenMac);
      });
      if (!ok) throw new Invalid('This link is not valid. Check that it was copied whole.', 'invalid_token');
      if (exp && Number.parseInt(exp, 36) * 1000 < now.getTime()) {
        throw new Invalid('This link has expired. Sign up again to get a fresh one.', 'expired_token');
      }
      return Number.parseInt(id, 36);
    },
  };
}

export const generateSecret = () => randomBytes(32).toString('base64url');
