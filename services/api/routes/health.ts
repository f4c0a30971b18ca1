import type { FastifyPluginAsync } from 'fastify';
import { cachedFor } from '../../core/cached.ts';
import { readiness, type Servers } from '../../readiness.ts';

/**
 * How long one SMTP check answers /readyz. Checking opens a session with the relay (connect,
 * EHLO, login): a probe or a client polling every second must not make the relay see a
 * connection per call, nor count against its connection limits.
 */
const SMTP_CHECK_MS = 30_000;

/**
 * `/healthz`: alive (it listens only after migrations and seeds are done).
 * `/readyz`: PostgreSQL, Redis and the SMTP server all answer; 503 naming the ones that do not.
 * PostgreSQL and Redis are asked on every call (one query, one PING, on connections the pools
 * already hold); the SMTP server at most once per 30 seconds, its answer shared meanwhile.
 * `relay` says whether the SMTP relay takes mail (what it replies when it refuses).
 */
export const healthRoutes: FastifyPluginAsync<{ servers: Servers }> = async (app, { servers }) => {
  const smtpAnswers = cachedFor(SMTP_CHECK_MS, () => servers.mailer.verify());

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const { ready, checks, relay } = await readiness(servers, 2000, smtpAnswers);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks, relay });
  });
};
