import formbody from '@fastify/formbody';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Services } from '../compose.ts';
import { errorHandler } from './errors.ts';
import { createPages, type Pages } from './pages.ts';
import { healthRoutes } from './routes/health.ts';
import { linkRoutes } from './routes/links.ts';
import { mailboxRoutes } from './routes/mailbox.ts';
import { subscriptionRoutes } from './routes/subscriptions.ts';

export interface AppDeps {
  services: Services;
  pages: Pages;
}

/** Builds the HTTP app on the given services; never listens (main.ts and the tests do). */
export async function buildApp(services: Services): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: services.log as FastifyBaseLogger,
    bodyLimit: 16 * 1024,
    // Tokens and ids are short; a long URL is an attack, not a link.
    routerOptions: { maxParamLength: 200 },
  });
  const pages = createPages();
  const deps: AppDeps = { services, pages };
  app.setErrorHandler(errorHandler(pages));
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: 'not_found', message: `No route for ${req.method} ${req.url.split('?')[0]}` });
  });
  await app.register(formbody);
  await app.register(healthRoutes);
  await app.register(subscriptionRoutes, deps);
  await app.register(linkRoutes, deps);
  if (services.endpoints.mailboxDir) await app.register(mailboxRoutes, { ...deps, dir: services.endpoints.mailboxDir });
  return app;
}
