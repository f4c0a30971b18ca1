import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { SignupInput, type SignupService } from '../../subscribers/signup.ts';
import type { Pages } from '../pages.ts';
import { errors, SignupAccepted } from '../schemas.ts';

const CHECK_INBOX = 'Check your inbox: we sent a link to confirm the address. Nothing else is sent until it is used.';
/** The API's answer to every accepted signup, serialised once (it is the same for everyone). */
const ACCEPTED = JSON.stringify(SignupAccepted.parse({ status: 'pending', message: CHECK_INBOX }));

export interface SubscriptionDeps {
  pages: Pages;
  signups: Pick<SignupService, 'signup'>;
}

export const subscriptionRoutes: FastifyPluginAsyncZod<SubscriptionDeps> = async (app, { pages, signups }) => {
  app.post(
    '/api/subscriptions',
    {
      schema: {
        summary: 'Sign up',
        description:
          'Records a pending subscription and mails a confirmation link. A signup never changes an existing ' +
          'subscriber: an active or paused one gets a link to their preferences instead, an unsubscribed one a ' +
          'link to confirm coming back with the preferences given, a bounced one nothing. Limited per client ' +
          "network, per mailbox and in all. The answer is the same whatever the address's state.",
        tags: ['subscriptions'],
        body: SignupInput,
        response: { 202: SignupAccepted, ...errors(400, 413, 415, 429) },
      },
    },
    async (req, reply) => {
      await signups.signup(req.body, req.ip);
      // Fastify sends a string with a JSON type as it is, past the schema's serialiser.
      return reply
        .code(202)
        .type('application/json; charset=utf-8')
        .send(ACCEPTED as never);
    },
  );

  // The same signup from the home page's form, without JavaScript.
  app.post('/subscribe', { config: { page: true }, schema: { hide: true, body: SignupInput } }, async (req, reply) => {
    await signups.signup(req.body, req.ip);
    return reply
      .code(202)
      .type('text/html; charset=utf-8')
      .send(pages.render('message', 'Check your inbox', { heading: 'Almost there', paragraphs: [CHECK_INBOX] }));
  });
};
