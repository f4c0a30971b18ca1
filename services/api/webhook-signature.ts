import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed webhooks in the Standard Webhooks form (https://www.standardwebhooks.com), as Svix,
 * Resend and others send them: `webhook-id` (unique per message, the same on every retry of it),
 * `webhook-timestamp` (Unix seconds) and `webhook-signature` (`v1,<base64 HMAC-SHA256>` of
 * `${id}.${timestamp}.${body}`; several space-separated, when the sender is rotating secrets).
 */

/** How far a message's timestamp may be from this machine's clock, either way. */
export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

/** The HMAC key of a secret: `whsec_<base64>` is the key in base64 (the standard's form); any other secret is its own bytes. */
export function webhookKey(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret);
}

export interface SignedWebhook {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

const mac = (key: Buffer, id: string, timestamp: string, body: Buffer | string) =>
  createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();

/** The `webhook-signature` value of a message: what a sender computes. */
export function signWebhook(key: Buffer, id: string, timestamp: string, body: Buffer | string): string {
  return `v1,${mac(key, id, timestamp, body).toString('base64')}`;
}

/**
 * Why a message's headers cannot be from the sender, before its body is read: missing, or a
 * timestamp outside the tolerance (an old message replayed after its id was forgotten). Undefined
 * when they may be.
 */
export function headerProblem(h: SignedWebhook, now: Date): string | undefined {
  if (!h.id || !h.timestamp || !h.signature) {
    return 'Signed requests only: webhook-id, webhook-timestamp and webhook-signature headers are required.';
  }
  if (h.id.length > 256 || !/^\d{1,12}$/.test(h.timestamp)) return 'Malformed webhook-id or webhook-timestamp.';
  const skew = Math.abs(now.getTime() / 1000 - Number(h.timestamp));
  if (skew > WEBHOOK_TOLERANCE_SECONDS) {
    return `webhook-timestamp is more than ${WEBHOOK_TOLERANCE_SECONDS / 60} minutes from now.`;
  }
  return undefined;
}

/** Whether one of the message's `v1` signatures is the HMAC of its id, timestamp and body. */
export function signatureMatches(key: Buffer, h: SignedWebhook, body: Buffer | string): boolean {
  if (!h.id || !h.timestamp || !h.signature) return false;
  const expected = mac(key, h.id, h.timestamp, body);
  return h.signature.split(' ').some((entry) => {
    const [version, value] = entry.split(',', 2);
    if (version !== 'v1' || !value) return false;
    const given = Buffer.from(value, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
