import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { NotFound } from '../../core/errors.ts';
import type { ConfirmOutcome } from '../../subscribers/signup.ts';
import type { AppDeps } from '../app.ts';
import type { MessagePage } from '../pages.ts';
import { TokenParams } from '../schemas.ts';

const HTML = 'text/html; charset=utf-8';

/** The tokenised links in mails: confirmation, and unsubscribe (RFC 8058 one-click, the page, undo). */
export const linkRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, { services, pages }) => {
  // Mail providers POST one-click unsubscribes as urlencoded or multipart: accept any body here
  // rather than answer 415 to a request that must simply work.
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) => done(null, body));
  const page = { config: { page: true }, schema: { hide: true, params: TokenParams } };

  app.get('/confirm/:token', page, async (req, reply) => {
    const outcome = await services.signups.confirm(req.params.token);
    return reply.type(HTML).send(pages.render('message', 'Subscription', confirmPage(outcome)));
  });

  // A GET must change nothing (mail scanners follow links): show one button that POSTs.
  app.get('/u/:token', page, async (req, reply) => {
    const { token } = req.params;
    const s = await services.manage.load(token, 'unsubscribe').catch((e) => {
      if (e instanceof NotFound) return undefined; // erased: nothing left to unsubscribe
      throw e;
    });
    const subscribed = s && ['pending', 'active', 'paused'].includes(s.status);
    const body: MessagePage = subscribed
      ? {
          heading: 'Unsubscribe?',
          paragraphs: [`Stop all Paperboy mail to ${s.email}.`],
          form: { action: `/u/${token}`, button: 'Unsubscribe' },
          links: [{ href: services.links.manage(s.id), text: 'Or change how often and what you receive' }],
        }
      : { heading: 'Not subscribed', paragraphs: ['This address receives no Paperboy mail.'] };
    return reply.type(HTML).send(pages.render('message', 'Unsubscribe', body));
  });

  // RFC 8058: the mail client POSTs `List-Unsubscribe=One-Click`, with no cookies; answer 200, never
  // a redirect. The page's button posts here too and gets a page offering to undo.
  app.post('/u/:token', page, async (req, reply) => {
    const { token } = req.params;
    const view = await services.manage.unsubscribe(token, 'unsubscribe');
    const oneClick = typeof req.body === 'object' && req.body !== null && 'List-Unsubscribe' in req.body;
    if (oneClick) return reply.code(200).type('text/plain; charset=utf-8').send('Unsubscribed.\n');
    return reply.type(HTML).send(
      pages.render('message', 'Unsubscribed', {
        heading: 'You are unsubscribed',
        paragraphs: [`No more digests will be sent${view ? ` to ${view.email}` : ''}.`],
        form: view ? { action: `/u/${token}/undo`, button: 'Undo: keep my subscription' } : undefined,
      }),
    );
  });

  app.post('/u/:token/undo', page, async (req, reply) => {
    const view = await services.manage.resubscribe(req.params.token, 'unsubscribe');
    return reply.type(HTML).send(
      pages.render('message', 'Subscribed', {
        heading: 'You are subscribed again',
        paragraphs: [`Digests to ${view.email} continue as before.`],
      }),
    );
  });
};

function confirmPage(outcome: ConfirmOutcome): MessagePage {
  switch (outcome) {
    case 'confirmed':
      return {
        heading: 'You are subscribed',
        paragraphs: ['Your first digest arrives at the hour you chose. Every mail has a one-click unsubscribe link.'],
      };
    case 'already-active':
      return { heading: 'Already confirmed', paragraphs: ['This subscription is active; nothing changed.'] };
    case 'not-pending':
      return {
        heading: 'This link is no longer active',
        paragraphs: ['This subscription was cancelled. Sign up again on the home page to receive digests.'],
        isError: true,
      };
  }
}
