import type { FastifyPluginAsync } from 'fastify';

/** Alive once the app serves: it listens only after migrations and seeds are done. */
export const healthRoutes: FastifyPluginAsync = async (app) => {
  app.get('/healthz', async () => ({ status: 'ok' }));
};
