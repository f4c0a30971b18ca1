import type { FastifyPluginAsync } from 'fastify';
import type { AppDeps } from '../app.ts';

const within = <T>(ms: number, p: Promise<T>): Promise<T | 'timeout'> =>
  Promise.race([p, new Promise<'timeout'>((r) => setTimeout(r, ms, 'timeout').unref())]);

/**
 * `/healthz`: alive (it listens only after migrations and seeds are done).
 * `/readyz`: PostgreSQL, Redis and the SMTP server all answer; 503 naming the ones that do not.
 */
export const healthRoutes: FastifyPluginAsync<AppDeps> = async (app, { services }) => {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const check = async (probe: () => Promise<unknown>) => {
      try {
        const r = await within(2000, probe());
        return r === 'timeout' || r === false ? 'unreachable' : 'ok';
      } catch {
        return 'unreachable';
      }
    };
    const checks = {
      postgres: await check(() => services.db.query('SELECT 1')),
      redis: await check(() => services.queues.redis.ping()),
      smtp: await check(() => services.mailer.verify()),
    };
    const ready = Object.values(checks).every((c) => c === 'ok');
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks });
  });
};
