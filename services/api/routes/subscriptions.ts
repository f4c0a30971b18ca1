import type { FastifyPluginAsync } from 'fastify';
import { countPapers } from '../../papers/ingest.ts';
import type { AppDeps } from '../app.ts';

const CHECK_INBOX = 'Check your inbox: we sent a link to confirm the address. Nothing else is sent until it is used.';

export const subscriptionRoutes: FastifyPluginAsync<AppDeps> = async (app, { services, pages }) => {
  app.get('/', { config: { page: true } }, async (_req, reply) => {
    const hours = Array.from({ length: 24 }, (_, h) => ({
      value: h,
      label: `${String(h).padStart(2, '0')}:00`,
      selected: h === 8,
    }));
    return reply
      .type('text/html; charset=utf-8')
      .send(
        pages.render('home', 'Trending papers in your inbox', { hours, paperCount: await countPapers(services.db) }),
      );
  });

  app.post('/api/subscriptions', async (req, reply) => {
    await services.subscriptions.signup(req.body ?? {});
    return reply.code(202).send({ status: 'pending', message: CHECK_INBOX });
  });

  // The same signup from the home page's form, without JavaScript.
  app.post('/subscribe', { config: { page: true } }, async (req, reply) => {
    await services.subscriptions.signup(req.body ?? {});
    return reply
      .code(202)
      .type('text/html; charset=utf-8')
      .send(pages.render('message', 'Check your inbox', { heading: 'Almost there', paragraphs: [CHECK_INBOX] }));
  });
};
