import { randomUUID } from 'node:crypto';
import formbody from '@fastify/formbody';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Services } from '../compose.ts';
import type { TrustProxy } from '../core/config.ts';
import { errorHandler } from './errors.ts';
import { createPages } from './pages.ts';
import { adminRoutes } from './routes/admin.ts';
import { archiveRoutes } from './routes/archive.ts';
import { assetRoutes } from './routes/assets.ts';
import { feedRoutes } from './routes/feeds.ts';
import { healthRoutes } from './routes/health.ts';
import { linkRoutes } from './routes/links.ts';
import { mailboxRoutes } from './routes/mailbox.ts';
import { manageApiRoutes } from './routes/manage-api.ts';
import { managePageRoutes } from './routes/manage-pages.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { paperPageRoutes } from './routes/papers.ts';
import { readerFeedRoutes } from './routes/reader-feed.ts';
import { subscriptionRoutes } from './routes/subscriptions.ts';
import { voteRoutes } from './routes/votes.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { API_DOCS_CSP, securityHooks } from './security.ts';

export type App = FastifyInstance;

/**
 * Fastify's trustProxy for TRUST_PROXY. A number of hops is a function here: Fastify takes a bare
 * number to mean "trust nobody". With `n` hops, the address `n` entries from the right of
 * X-Forwarded-For (counting the connection's own) is the client: the one the nearest proxy saw.
 */
function trustProxyOption(trust: TrustProxy) {
  if (trust === false) return false;
  if ('hops' in trust) return (_address: string, hop: number) => hop < trust.hops;
  return trust.proxies;
}

/**
 * Builds the HTTP app on the given services; never listens (main.ts and the tests do). Each route
 * plugin is handed the few services it uses, and none of them the database.
 */
export async function buildApp(services: Services): Promise<FastifyInstance> {
  const { config, signups, manage, suppressions, catalog, ops, queues, breaker, clock } = services;
  const app = Fastify({
    loggerInstance: services.log as FastifyBaseLogger,
    // Every log line of a request carries its id: the caller's X-Request-Id when it looks like one
    // (a proxy's), else a fresh UUID, unique across processes. It is echoed in the response.
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.:-]{1,64}$/.test(given) ? given : randomUUID();
    },
    bodyLimit: 16 * 1024,
    trustProxy: trustProxyOption(config.trustProxy),
    // Tokens are short; a long URL is an attack, not a link.
    routerOptions: { maxParamLength: 200 },
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  const pages = createPages();
  app.setErrorHandler(errorHandler(pages));
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id);
    done();
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: 'not_found', message: `No route for ${req.method} ${req.url.split('?')[0]}` });
  });
  // Before any route, so its hooks see them all.
  await app.register(securityHooks, { pages, publicUrl: config.publicUrl });

  // The OpenAPI document is generated from the same zod schemas that validate requests.
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Paperboy',
        version: '1',
        description:
          'Subscribe to trending research papers by email. Tokens in paths come from the links Paperboy mails; ' +
          'they are the only credential a subscriber needs.',
      },
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: API_DOCS_CSP });
  await app.register(formbody);
  await app.register(metricsRoutes, { ops, counters: services.counters, breaker, queues });
  await app.register(healthRoutes, { servers: { ops, queues, mailer: services.mailer, breaker } });
  await app.register(paperPageRoutes, { pages, publicUrl: config.publicUrl, catalog });
  await app.register(subscriptionRoutes, { pages, signups });
  await app.register(linkRoutes, { pages, manage, signups });
  await app.register(voteRoutes, { pages, interests: services.interests });
  await app.register(manageApiRoutes, { manage, interests: services.interests });
  await app.register(managePageRoutes, {
    pages,
    manage,
    interests: services.interests,
    digests: services.ranking,
    manageTtlDays: services.links.manageTtlDays,
  });
  await app.register(readerFeedRoutes, { manage, publicUrl: config.publicUrl });
  await app.register(webhookRoutes, {
    secret: config.webhookSecret,
    allowBearer: config.webhookAllowBearer,
    suppressions,
    redis: queues.redis,
    keyPrefix: config.queuePrefix,
  });
  await app.register(feedRoutes, { publicUrl: config.publicUrl, catalog, clock });
  await app.register(archiveRoutes, { pages, publicUrl: config.publicUrl, catalog, digests: services.ranking });
  await app.register(assetRoutes, { pages });
  // The local mail catcher's messages, only where no one but this machine's user can read them.
  if (services.endpoints.mailboxDir && config.mailboxPage)
    await app.register(mailboxRoutes, { pages, dir: services.endpoints.mailboxDir, publicUrl: config.publicUrl });
  // Without ADMIN_PASSWORD there is no admin area at all: every /admin URL is a plain 404.
  const password = config.adminPassword;
  if (password) {
    await app.register(adminRoutes, {
      pages,
      password,
      ops,
      breaker,
      queues,
      limiter: services.limiter,
      clock,
      prefix: '/admin',
    });
  }
  return app;
}
