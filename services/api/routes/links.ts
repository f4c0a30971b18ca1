import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { AppDeps } from '../app.ts';
import type { MessagePage } from '../pages.ts';

const TokenParams = z.object({ token: z.string().max(200) });

const CONFIRM_TEXT: Record<string, MessagePage> = {
  confirmed: {
    heading: 'You are subscribed',
    paragraphs: ['Your first digest arrives at the hour you chose. Every mail has a one-click unsubscribe link.'],
  },
  'already-active': {
    heading: 'Already confirmed',
    paragraphs: ['This subscription is active; nothing changed.'],
  },
  'not-pending': {
    heading: 'This link is no longer active',
    paragraphs: ['This subscription was cancelled. Sign up again on the home page to receive digests.'],
    isError: true,
  },
};

/** The tokenised links in mails: confirmation and unsubscribe (RFC 8058 one-click and the page). */
export const linkRoutes: FastifyPluginAsync<AppDeps> = async (app, { services, pages }) => {
  // Mail providers POST one-click unsubscribes as urlencoded or multipart: accept any body here
  // rather than answer 415 to a request that must simply work.
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) => done(null, body));

  const html = 'text/html; charset=utf-8';

  app.get('/confirm/:token', { config: { page: true } }, async (req, reply) => {
    const { token } = TokenParams.parse(req.params);
    const { outcome } = await services.subscriptions.confirm(token);
    return reply.type(html).send(pages.render('message', 'Subscription', CONFIRM_TEXT[outcome]));
  });

  // A GET must change nothing (mail scanners follow links): show one button that POSTs.
  app.get('/u/:token', { config: { page: true } }, async (req, reply) => {
    const { token } = TokenParams.parse(req.params);
    const { email, status } = await services.subscriptions.describeUnsubscribe(token);
    const page: MessagePage =
      status === 'active' || status === 'pending'
        ? {
            heading: 'Unsubscribe?',
            paragraphs: [`Stop all Paperboy mail to ${email}.`],
            form: { action: `/u/${token}`, button: 'Unsubscribe' },
          }
        : { heading: 'Not subscribed', paragraphs: ['This address receives no Paperboy mail.'] };
    return reply.type(html).send(pages.render('message', 'Unsubscribe', page));
  });

  app.post('/u/:token', { config: { page: true } }, async (req, reply) => {
    const { token } = TokenParams.parse(req.params);
    const { email } = await services.subscriptions.unsubscribe(token);
    const oneClick = typeof req.body === 'object' && req.body !== null && 'List-Unsubscribe' in req.body;
    if (oneClick) return reply.code(200).type('text/plain; charset=utf-8').send('Unsubscribed.\n');
    return reply
      .code(200)
      .type(html)
      .send(
        pages.render('message', 'Unsubscribed', {
          heading: 'You are unsubscribed',
          paragraphs: [`No more digests will be sent${email ? ` to ${email}` : ''}.`],
        }),
      );
  });
};
