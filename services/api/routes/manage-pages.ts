import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AppError } from '../../core/errors.ts';
import { localTime } from '../../core/local-day.ts';
import type { Composer } from '../../digests/composer.ts';
import type { InterestService, Interests } from '../../interests/service.ts';
import { HISTORY_DAYS } from '../../subscribers/history.ts';
import type { ManageService, SubscriptionView } from '../../subscribers/manage.ts';
import { PreferencesInput, preferenceForm } from '../../subscribers/preferences.ts';
import { isSubscribed, SUBSCRIBER_STATUSES } from '../../subscribers/status.ts';
import type { Pages } from '../pages.ts';
import { RowId, TokenParams } from '../schemas.ts';
import { MAIL_HTML_CSP } from '../security.ts';
import { linkMailedPage } from './links.ts';

const HTML = 'text/html; charset=utf-8';

export interface ManagePageDeps {
  pages: Pages;
  manage: ManageService;
  interests: Pick<InterestService, 'list' | 'undo' | 'resetVotes' | 'follow' | 'unfollow' | 'likedBibtex'>;
  /** The reader's own digests, with their vote links. */
  digests: Pick<Composer, 'ownWebVersion'>;
  /** How long a preferences link works (MANAGE_LINK_TTL_DAYS). */
  manageTtlDays: number;
}

/** The preferences page behind the link in every mail: plain forms, no JavaScript needed. */
export const managePageRoutes: FastifyPluginAsyncZod<ManagePageDeps> = async (
  app,
  { pages, manage, interests, digests, manageTtlDays },
) => {
  const page = { config: { page: true }, schema: { hide: true, params: TokenParams } };

  // A link that expired or was signed out (its MAC still holds) opens a page that offers a fresh
  // one by mail, to the address on record; everything else goes to the app's error handler.
  app.setErrorHandler((err, req, reply) => {
    const token = (req.params as { token?: unknown } | undefined)?.token;
    if (
      !(err instanceof AppError) ||
      !['expired_token', 'revoked_token'].includes(err.code) ||
      typeof token !== 'string'
    ) {
      throw err;
    }
    return reply
      .code(err.status)
      .type(HTML)
      .send(
        pages.render('message', 'Link no longer works', {
          heading: err.code === 'expired_token' ? 'This link has expired' : 'This link was signed out',
          paragraphs: [
            err.message,
            `Links to your preferences work for ${manageTtlDays} days; every digest brings a new one.`,
          ],
          forms: [{ action: `/manage/${token}/new-link`, button: 'Mail me a fresh link' }],
          isError: true,
        }),
      );
  });

  const render = async (token: string, view: SubscriptionView, notice?: string, taught?: Interests) => {
    const { votes, follows } = taught ?? (await interests.list(token));
    return pages.render('manage', 'Your subscription', {
      token,
      notice,
      email: view.email,
      statusText: SUBSCRIBER_STATUSES[view.status].page,
      nextDigestAt: view.nextDigestAt ? localTime(view.nextDigestAt, view.preferences.timezone) : undefined,
      history: await manage.history(token),
      feedUrl: await manage.feedLink(token),
      historyDays: HISTORY_DAYS,
      canEdit: view.status !== 'bounced',
      canPause: view.status === 'active',
      canResume: view.status === 'paused',
      canUnsubscribe: isSubscribed(view.status),
      canResubscribe: view.status === 'unsubscribed',
      manageTtlDays,
      votes: votes.map((v) => ({ ...v, more: v.vote === 'more' })),
      liked: votes.some((v) => v.vote === 'more'),
      follows,
      ...preferenceForm(view.preferences),
    });
  };

  app.get('/manage/:token', page, async (req, reply) =>
    reply.type(HTML).send(await render(req.params.token, await manage.view(req.params.token))),
  );

  app.post('/manage/:token', { ...page, schema: { ...page.schema, body: PreferencesInput } }, async (req, reply) =>
    reply
      .type(HTML)
      .send(
        await render(
          req.params.token,
          await manage.updatePreferences(req.params.token, req.body),
          'Preferences saved.',
        ),
      ),
  );

  const actions = {
    pause: { run: manage.pause, notice: 'Digests are paused.' },
    resume: { run: manage.resume, notice: 'Digests resume at your next delivery hour.' },
    unsubscribe: { run: manage.unsubscribe, notice: 'You are unsubscribed. No more mail will be sent.' },
    resubscribe: { run: manage.resubscribe, notice: 'You are subscribed again.' },
  };
  for (const [name, action] of Object.entries(actions)) {
    app.post(`/manage/:token/${name}`, page, async (req, reply) =>
      reply.type(HTML).send(await render(req.params.token, await action.run(req.params.token), action.notice)),
    );
  }

  // What the reader taught Paperboy: undo a vote, forget them all, follow and stop following.
  const taught = async (token: string, notice: string, change: () => Promise<Interests>) => {
    const after = await change();
    return render(token, await manage.view(token), notice, after);
  };
  const VoteParams = TokenParams.extend({ paperId: RowId });
  app.post(
    '/manage/:token/votes/:paperId/undo',
    { ...page, schema: { ...page.schema, params: VoteParams } },
    async (req, reply) =>
      reply
        .type(HTML)
        .send(
          await taught(req.params.token, 'Vote undone.', () => interests.undo(req.params.token, req.params.paperId)),
        ),
  );
  app.post('/manage/:token/votes/reset', page, async (req, reply) =>
    reply
      .type(HTML)
      .send(await taught(req.params.token, 'Every vote is forgotten.', () => interests.resetVotes(req.params.token))),
  );
  app.post('/manage/:token/follows', page, async (req, reply) =>
    reply
      .type(HTML)
      .send(await taught(req.params.token, 'Followed.', () => interests.follow(req.params.token, req.body))),
  );
  app.post('/manage/:token/follows/remove', page, async (req, reply) =>
    reply
      .type(HTML)
      .send(
        await taught(req.params.token, 'No longer followed.', () => interests.unfollow(req.params.token, req.body)),
      ),
  );

  app.get(
    '/manage/:token/digests/:deliveryId',
    {
      config: { page: true, csp: MAIL_HTML_CSP },
      schema: {
        hide: true,
        params: TokenParams.extend({ deliveryId: RowId }),
      },
    },
    async (req, reply) => reply.type(HTML).send(await digests.ownWebVersion(req.params.token, req.params.deliveryId)),
  );

  app.get('/manage/:token/liked.bib', page, async (req, reply) => {
    const { filename, text } = await interests.likedBibtex(req.params.token);
    return reply
      .type('text/x-bibtex; charset=utf-8')
      .header('content-disposition', `attachment; filename="${filename}"`)
      .send(text);
  });

  app.get('/manage/:token/export', page, async (req, reply) =>
    reply
      .header('content-disposition', 'attachment; filename="paperboy-data.json"')
      .type('application/json; charset=utf-8')
      .send(JSON.stringify(await manage.exportData(req.params.token), null, 2)),
  );

  app.post('/manage/:token/new-link', page, async (req, reply) => {
    await manage.mailManageLink(req.params.token, 'manage');
    return reply.type(HTML).send(pages.render('message', 'Check your inbox', linkMailedPage()));
  });

  app.post('/manage/:token/revoke-links', page, async (req, reply) => {
    const { token } = req.params;
    await manage.revokeLinks(token);
    return reply.type(HTML).send(
      pages.render('message', 'Links signed out', {
        heading: 'Every link is signed out',
        paragraphs: [
          'Every link to these preferences and every web version of your digests that Paperboy mailed so far stopped working, this one included.',
          'Unsubscribe links in earlier digests keep working: they can only unsubscribe. Your next digest brings a new link to your preferences, or have one mailed now.',
        ],
        forms: [{ action: `/manage/${token}/new-link`, button: 'Mail me a new link' }],
      }),
    );
  });

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
