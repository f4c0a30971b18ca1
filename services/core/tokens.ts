import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Invalid } from './errors.ts';

export const TOKEN_PURPOSES = [
  'confirm',
  'manage',
  'unsubscribe',
  'view-digest',
  'undo-unsubscribe',
  'feed',
  'vote',
] as const;
export type TokenPurpose = (typeof TOKEN_PURPOSES)[number];

/** What a token says once its MAC is checked: whose it is, until when, and from which epoch. */
export interface OpenedToken {
  /** A subscriber's id, or for `view-digest` and `vote` a delivery's (which belongs to one subscriber). */
  id: number;
  /** Absent for tokens signed without an expiry. */
  expiresAt?: Date;
  /**
   * The subscriber's link epoch when it was signed. Signing out every link moves the epoch on;
   * the service compares it with the subscriber's current one.
   */
  epoch: number;
}

export interface Tokens {
  sign(purpose: TokenPurpose, id: number, expiresAt?: Date, epoch?: number): string;
  /** Checks the MAC only: throws `Invalid` for a token that is malformed, forged or foreign. */
  open(purpose: TokenPurpose, token: string): OpenedToken;
  /** Returns the id, or throws `Invalid` for a token that is malformed, forged, foreign or expired. */
  verify(purpose: TokenPurpose, token: string, now?: Date): number;
}

const MAC_BYTES = 16;

export const invalidToken = () =>
  new Invalid('This link is not valid. Check that it was copied whole.', 'invalid_token');
export const expiredToken = (what = 'Sign up again to get a fresh one.') =>
  new Invalid(`This link has expired. ${what}`, 'expired_token');

/**
 * Link tokens: `<id>.<expiry>.<mac>`, or `<id>.<expiry>.<epoch>.<mac>` once the subscriber has
 * signed out their links, all base36/base64url so they sit in a URL path. The MAC (HMAC-SHA256,
 * truncated to 128 bits) covers purpose, id, expiry and epoch, so a token for one purpose,
 * subscriber or epoch cannot be turned into another. Epoch 0 is written without its field and
 * MACs the same body as before epochs existed, so every link mailed before stays verifiable. The
 * first secret signs; every secret verifies, so secrets can be rotated without breaking links
 * already mailed.
 */
export function createTokens(secrets: readonly string[]): Tokens {
  if (secrets.length === 0) throw new Error('at least one token secret is required');
  const mac = (secret: string, body: string) =>
    createHmac('sha256', secret).update(body).digest().subarray(0, MAC_BYTES);
  const body = (purpose: TokenPurpose, id: string, exp: string, epoch: string) =>
    `paperboy/${purpose}/${id}/${exp}${epoch ? `/${epoch}` : ''}`;

  function open(purpose: TokenPurpose, token: string): OpenedToken {
    // The epoch field never starts with 0: each token has one spelling.
    const m = /^([0-9a-z]{1,13})\.([0-9a-z]{0,10})(?:\.([1-9a-z][0-9a-z]{0,5}))?\.([A-Za-z0-9_-]{22})$/.exec(token);
    if (!m) throw invalidToken();
    const [, id, exp, epoch = '', given] = m as unknown as [string, string, string, string | undefined, string];
    // Compare the text, not decoded bytes: the last base64url character carries spare bits, so
    // several spellings decode to the same MAC and a tampered token would otherwise pass.
    const givenMac = Buffer.from(given);
    const ok = secrets.some((s) => {
      const expected = Buffer.from(mac(s, body(purpose, id, exp, epoch)).toString('base64url'));
      return expected.length === givenMac.length && timingSafeEqual(expected, givenMac);
    });
    if (!ok) throw invalidToken();
    return {
      id: Number.parseInt(id, 36),
      expiresAt: exp ? new Date(Number.parseInt(exp, 36) * 1000) : undefined,
      epoch: epoch ? Number.parseInt(epoch, 36) : 0,
    };
  }

  return {
    sign(purpose, id, expiresAt, epoch = 0) {
      const idText = id.toString(36);
      const exp = expiresAt ? Math.ceil(expiresAt.getTime() / 1000).toString(36) : '';
      const epochText = epoch > 0 ? epoch.toString(36) : '';
      const mac36 = mac(secrets[0] as string, body(purpose, idText, exp, epochText)).toString('base64url');
      return [idText, exp, ...(epochText ? [epochText] : []), mac36].join('.');
    },
    open,
    verify(purpose, token, now = new Date()) {
      const t = open(purpose, token);
      if (t.expiresAt && t.expiresAt.getTime() < now.getTime()) throw expiredToken();
      return t.id;
    },
  };
}

export const generateSecret = () => randomBytes(32).toString('base64url');
