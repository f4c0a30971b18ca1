import type { FastifyPluginAsync } from 'fastify';
import { readiness } from '../../readiness.ts';
import type { AppDeps } from '../app.ts';

/**
 * `/healthz`: alive (it listens only after migrations and seeds are done).
 * `/readyz`: PostgreSQL, Redis and the SMTP server all answer; 503 naming the ones that do not.
 * `relay` says whether the SMTP relay takes mail (what it replies when it refuses).
 */
export const healthRoutes: FastifyPluginAsync<AppDeps> = async (app, { services }) => {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const { ready, checks, relay } = await readiness(services);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks, relay });
  });
};
