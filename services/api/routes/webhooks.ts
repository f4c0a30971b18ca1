import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../core/errors.ts';
import { createSubscriberRepository } from '../../subscribers/repository.ts';
import { Email } from '../../subscribers/schemas.ts';
import type { AppDeps } from '../app.ts';
import { errors } from '../schemas.ts';

const Event = z.object({
  email: Email,
  type: z.enum(['bounce', 'complaint']).describe('A hard bounce, or a spam complaint (feedback loop)'),
  reason: z.string().max(1000).optional(),
});
const Body = z.union([Event, z.object({ events: z.array(Event).min(1).max(1000) })]);

class Unauthorized extends AppError {
  constructor() {
    super(401, 'unauthorized', 'A valid Authorization: Bearer <WEBHOOK_SECRET> header is required.');
  }
}

/**
 * Bounces and complaints a mail provider reports after the SMTP exchange: generic JSON,
 * authenticated by a shared secret. Each address stops receiving mail at once and is suppressed.
 */
export const webhookRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, { services }) => {
  const secret = services.config.webhookSecret;
  const repo = createSubscriberRepository(services.db);
  const authorised = (header: string | undefined) => {
    if (!secret || !header?.startsWith('Bearer ')) return false;
    const given = Buffer.from(header.slice(7));
    const expected = Buffer.from(secret);
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  app.post(
    '/api/webhooks/bounces',
    {
      schema: {
        summary: 'Report bounces and complaints',
        description: 'Needs `Authorization: Bearer <WEBHOOK_SECRET>`; disabled while WEBHOOK_SECRET is unset.',
        tags: ['webhooks'],
        body: Body,
        response: {
          200: z.object({ processed: z.number().int(), matched: z.number().int() }),
          ...errors(400, 413, 415),
          401: errors(400)[400],
        },
      },
      // Authenticate before the body is parsed or validated.
      onRequest: async (req) => {
        if (!authorised(req.headers.authorization)) throw new Unauthorized();
      },
    },
    async (req) => {
      const events = 'events' in req.body ? req.body.events : [req.body];
      let matched = 0;
      for (const e of events) {
        const reason = e.type === 'bounce' ? 'bounced' : 'complaint';
        if (await repo.suppress(e.email, reason, `${e.type} reported by the mail provider`)) matched++;
        req.log.info({ type: e.type, matched }, 'provider report');
      }
      return { processed: events.length, matched };
    },
  );
};
