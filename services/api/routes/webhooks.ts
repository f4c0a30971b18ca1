import { hash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { AppError, Conflict } from '../../core/errors.ts';
import { Email } from '../../subscribers/schemas.ts';
import type { SuppressionService } from '../../subscribers/suppressions.ts';
import { errors } from '../schemas.ts';
import {
  headerProblem,
  type SignedWebhook,
  signatureMatches,
  WEBHOOK_TOLERANCE_SECONDS,
  webhookKey,
} from '../webhook-signature.ts';

const Event = z.object({
  email: Email,
  type: z.enum(['bounce', 'complaint']).describe('A hard bounce, or a spam complaint (feedback loop)'),
  reason: z.string().max(1000).optional(),
});
const Body = z.union([Event, z.object({ events: z.array(Event).min(1).max(1000) })]);

class Unauthorized extends AppError {
  constructor(why = 'A valid webhook signature (Standard Webhooks, signed with WEBHOOK_SECRET) is required.') {
    super(401, 'unauthorized', why);
  }
}

/**
 * A message id is remembered for twice the timestamp tolerance: as long as any message carrying it
 * could still pass the timestamp check, on this machine's clock or the sender's.
 */
const REMEMBER_IDS_MS = 2 * WEBHOOK_TOLERANCE_SECONDS * 1000;

const signedHeaders = (req: FastifyRequest): SignedWebhook => {
  const one = (name: string) => {
    const v = req.headers[name];
    return typeof v === 'string' ? v : undefined;
  };
  return { id: one('webhook-id'), timestamp: one('webhook-timestamp'), signature: one('webhook-signature') };
};

/**
 * Bounces and complaints a mail provider reports after the SMTP exchange: generic JSON, signed
 * Standard Webhooks style with WEBHOOK_SECRET (see webhook-signature.ts). A message is taken once:
 * its timestamp must be within 5 minutes of now and its id not seen in the last 10, so a captured
 * request cannot be played again. With WEBHOOK_ALLOW_BEARER, `Authorization: Bearer <secret>` is
 * taken too, for providers that cannot sign (it can be replayed by whoever sees it). Each address
 * reported stops receiving mail at once and is suppressed.
 */
export interface WebhookDeps {
  /** WEBHOOK_SECRET; the webhook is off without it. */
  secret: string | undefined;
  /** WEBHOOK_ALLOW_BEARER. */
  allowBearer: boolean;
  suppressions: Pick<SuppressionService, 'report'>;
  /** Where message ids are remembered, under `keyPrefix`, shared by every api process. */
  redis: Pick<Redis, 'set' | 'del'>;
  keyPrefix: string;
}

export const webhookRoutes: FastifyPluginAsyncZod<WebhookDeps> = async (
  app,
  { secret, allowBearer, suppressions, redis, keyPrefix },
) => {
  const key = secret ? webhookKey(secret) : undefined;
  const bearer = new WeakSet<FastifyRequest>();
  const seenKey = (id: string) => `${keyPrefix}:webhook-seen:${hash('sha256', id, 'base64url').slice(0, 22)}`;

  const bearerMatches = (header: string | undefined) => {
    if (!secret || !allowBearer || !header?.startsWith('Bearer ')) return false;
    const given = Buffer.from(header.slice(7));
    const expected = Buffer.from(secret);
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  // The signature covers the body's bytes as sent: this route's JSON is parsed here, after the
  // signature over the raw body is checked (an unsigned body is never parsed). Registered inside
  // this plugin, the parser serves this route only.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    if (!bearer.has(req) && !(key && signatureMatches(key, signedHeaders(req), body as Buffer))) {
      done(new Unauthorized(), undefined);
      return;
    }
    parseJson(req, (body as Buffer).toString(), done);
  });

  app.post(
    '/api/webhooks/bounces',
    {
      schema: {
        summary: 'Report bounces and complaints',
        description:
          'Signed as Standard Webhooks: `webhook-id`, `webhook-timestamp` (within 5 minutes) and ' +
          '`webhook-signature` (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed by WEBHOOK_SECRET: ' +
          'the bytes after `whsec_` in base64, or the secret itself). A message id is accepted once. ' +
          '`Authorization: Bearer <WEBHOOK_SECRET>` only with WEBHOOK_ALLOW_BEARER=true. Disabled while ' +
          'WEBHOOK_SECRET is unset.',
        tags: ['webhooks'],
        body: Body,
        response: {
          200: z.object({ processed: z.number().int(), matched: z.number().int() }),
          ...errors(400, 409, 413, 415),
          401: errors(400)[400],
        },
      },
      // Headers are checked before the body is read; the signature once it is (the parser above).
      onRequest: async (req) => {
        if (!secret) throw new Unauthorized('The webhook is disabled: WEBHOOK_SECRET is not set.');
        if (bearerMatches(req.headers.authorization)) {
          bearer.add(req);
          return;
        }
        const problem = headerProblem(signedHeaders(req), new Date());
        if (problem) throw new Unauthorized(problem);
      },
      // Signed and parsed: a message id seen within the tolerance is a replay.
      preValidation: async (req) => {
        if (bearer.has(req)) return;
        const id = signedHeaders(req).id as string;
        const fresh = await redis.set(seenKey(id), '1', 'PX', REMEMBER_IDS_MS, 'NX');
        if (fresh !== 'OK') throw new Conflict('This webhook-id was already received.', 'replayed');
      },
    },
    async (req) => {
      const events = 'events' in req.body ? req.body.events : [req.body];
      try {
        let matched = 0;
        for (const e of events) {
          if (await suppressions.report(e.email, e.type, `${e.type} reported by the mail provider`)) matched++;
          req.log.info({ type: e.type, matched }, 'provider report');
        }
        return { processed: events.length, matched };
      } catch (err) {
        // Not taken: the sender's retry, under the same id, must be.
        const id = signedHeaders(req).id;
        if (id && !bearer.has(req)) await redis.del(seenKey(id)).catch(() => {});
        throw err;
      }
    },
  );
};
