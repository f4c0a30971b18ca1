import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { SubscriptionView } from '../../subscribers/manage.ts';
import { PreferencesInput } from '../../subscribers/schemas.ts';
import type { AppDeps } from '../app.ts';
import { preferenceForm } from '../forms.ts';
import { TokenParams } from '../schemas.ts';

const HTML = 'text/html; charset=utf-8';

const STATUS_TEXT: Record<SubscriptionView['status'], string> = {
  pending: 'waiting for you to confirm the address',
  active: 'active',
  paused: 'paused: no digests until you resume',
  unsubscribed: 'unsubscribed: no mail is sent',
  bounced: 'stopped: mail to this address bounced',
};

/** The preferences page behind the link in every mail: plain forms, no JavaScript needed. */
export const managePageRoutes: FastifyPluginAsyncZod<AppDeps> = async (app, { services, pages }) => {
  const { manage } = services;
  const page = { config: { page: true }, schema: { hide: true, params: TokenParams } };

  const render = (token: string, view: SubscriptionView, notice?: string) =>
    pages.render('manage', 'Your subscription', {
      token,
      notice,
      email: view.email,
      statusText: STATUS_TEXT[view.status],
      nextDigestAt: view.nextDigestAt ? new Date(view.nextDigestAt).toUTCString() : undefined,
      canEdit: view.status !== 'bounced',
      canPause: view.status === 'active',
      canResume: view.status === 'paused',
      canUnsubscribe: ['pending', 'active', 'paused'].includes(view.status),
      canResubscribe: view.status === 'unsubscribed',
      ...preferenceForm(view.preferences),
    });

  app.get('/manage/:token', page, async (req, reply) =>
    reply.type(HTML).send(render(req.params.token, await manage.view(req.params.token))),
  );

  app.post('/manage/:token', { ...page, schema: { ...page.schema, body: PreferencesInput } }, async (req, reply) =>
    reply
      .type(HTML)
      .send(render(req.params.token, await manage.updatePreferences(req.params.token, req.body), 'Preferences saved.')),
  );

  const actions = {
    pause: { run: manage.pause, notice: 'Digests are paused.' },
    resume: { run: manage.resume, notice: 'Digests resume at your next delivery hour.' },
    unsubscribe: {
      run: async (t: string) => (await manage.unsubscribe(t, 'manage')) ?? manage.view(t),
      notice: 'You are unsubscribed. No more mail will be sent.',
    },
    resubscribe: { run: (t: string) => manage.resubscribe(t, 'manage'), notice: 'You are subscribed again.' },
  };
  for (const [name, action] of Object.entries(actions)) {
    app.post(`/manage/:token/${name}`, page, async (req, reply) =>
      reply.type(HTML).send(render(req.params.token, await action.run(req.params.token), action.notice)),
    );
  }

  app.get('/manage/:token/export', page, async (req, reply) =>
    reply
      .header('content-disposition', 'attachment; filename="paperboy-data.json"')
      .type('application/json; charset=utf-8')
      .send(JSON.stringify(await manage.exportData(req.params.token), null, 2)),
  );

  app.post('/manage/:token/erase', page, async (req, reply) => {
    await manage.erase(req.params.token);
    return reply.type(HTML).send(
      pages.render('message', 'Erased', {
        heading: 'Everything is erased',
        paragraphs: [
          'Your address, preferences and digest history are deleted. Only a one-way hash of the address is kept, so it is not mailed again by accident.',
          'You can sign up again at any time.',
        ],
      }),
    );
  });
};
