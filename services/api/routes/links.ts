import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { MANAGE_LINK_MAIL_EVERY_SECONDS, type ManageService } from '../../subscribers/manage.ts';
import type { ConfirmOutcome, ConfirmState, SignupService } from '../../subscribers/signup.ts';
import type { ButtonForm, MessagePage, Pages } from '../pages.ts';
import { TokenParams } from '../schemas.ts';

const HTML = 'text/html; charset=utf-8';

/**
 * The tokenised links in mails that are not the preferences page: confirmation, and unsubscribe
 * (RFC 8058 one-click, the page, undo, and asking for a preferences link by mail). Every GET only
 * shows a page; what changes anything is a POST (mail scanners and link previews GET every link).
 * The pages never show the address: these URLs are fetched and logged by mail gateways.
 */
export interface LinkDeps {
  pages: Pages;
  manage: Pick<ManageService, 'linkState' | 'leave' | 'undoLeave' | 'mailManageLink'>;
  signups: Pick<SignupService, 'confirmation' | 'confirm'>;
}

export const linkRoutes: FastifyPluginAsyncZod<LinkDeps> = async (app, { pages, manage, signups }) => {
  // Mail providers POST one-click unsubscribes as urlencoded or multipart: accept any body here
  // rather than answer 415 to a request that must simply work.
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) => done(null, body));
  const page = { config: { page: true }, schema: { hide: true, params: TokenParams } };

  app.get('/confirm/:token', page, async (req, reply) => {
    const state = await signups.confirmation(req.params.token);
    return reply.type(HTML).send(pages.render('message', 'Subscription', confirmPage(state, req.params.token)));
  });

  app.post('/confirm/:token', page, async (req, reply) => {
    const outcome = await signups.confirm(req.params.token);
    return reply.type(HTML).send(pages.render('message', 'Subscription', confirmPage(outcome, req.params.token)));
  });

  /** Instead of a preferences link: the unsubscribe link must never lead to what it cannot do itself. */
  const mailMeALink = (token: string): ButtonForm => ({
    action: `/u/${token}/manage-link`,
    button: 'Mail me a link to my preferences',
    intro: 'Rather change how often and what you receive? Paperboy mails a link to your preferences to this address.',
  });

  app.get('/u/:token', page, async (req, reply) => {
    const { token } = req.params;
    const state = await manage.linkState(token);
    const body: MessagePage =
      state === 'subscribed'
        ? {
            heading: 'Unsubscribe?',
            paragraphs: ['Stop all Paperboy mail to this address.'],
            forms: [{ action: `/u/${token}`, button: 'Unsubscribe' }, mailMeALink(token)],
          }
        : {
            heading: 'Not subscribed',
            paragraphs: ['This address receives no Paperboy mail.'],
            forms: state === 'gone' ? [] : [mailMeALink(token)],
          };
    return reply.type(HTML).send(pages.render('message', 'Unsubscribe', body));
  });

  // RFC 8058: the mail client POSTs `List-Unsubscribe=One-Click`, with no cookies; answer 200, never
  // a redirect. The page's button posts here too and gets a page offering to undo.
  app.post('/u/:token', page, async (req, reply) => {
    const { token } = req.params;
    const outcome = await manage.leave(token);
    if (isOneClick(req.body)) return reply.code(200).type('text/plain; charset=utf-8').send('Unsubscribed.\n');
    const forms: ButtonForm[] = [];
    if (outcome.kind === 'unsubscribed') {
      forms.push({
        action: `/u/${token}/undo`,
        hidden: [{ name: 'undo', value: outcome.undoToken }],
        button: 'Undo: keep my subscription',
        intro: 'Pressed by mistake? You can undo this for a day.',
      });
    }
    if (outcome.kind !== 'gone') forms.push(mailMeALink(token));
    return reply.type(HTML).send(
      pages.render('message', 'Unsubscribed', {
        heading: 'You are unsubscribed',
        paragraphs: ['No more digests will be sent to this address.'],
        forms,
      }),
    );
  });

  app.post('/u/:token/undo', page, async (req, reply) => {
    const undo = typeof req.body === 'object' && req.body !== null ? (req.body as { undo?: unknown }).undo : undefined;
    await manage.undoLeave(req.params.token, undo);
    return reply.type(HTML).send(
      pages.render('message', 'Subscribed', {
        heading: 'You are subscribed again',
        paragraphs: ['Digests to this address continue as before.'],
      }),
    );
  });

  app.post('/u/:token/manage-link', page, async (req, reply) => {
    await manage.mailManageLink(req.params.token, 'unsubscribe');
    return reply.type(HTML).send(pages.render('message', 'Check your inbox', linkMailedPage()));
  });
};

/** The same answer whether a mail went out or one went out a moment ago. */
export function linkMailedPage(): MessagePage {
  return {
    heading: 'Check your inbox',
    paragraphs: [
      'If Paperboy may still mail this address, a link to its preferences is on its way there, and nowhere else.',
      `Paperboy sends at most one such mail every ${MANAGE_LINK_MAIL_EVERY_SECONDS / 60} minutes.`,
    ],
  };
}

function confirmPage(outcome: ConfirmOutcome | ConfirmState, token: string): MessagePage {
  switch (outcome) {
    case 'pending':
      return {
        heading: 'Confirm your subscription',
        paragraphs: ['One step left: press the button to start receiving the digest you asked for.'],
        forms: [{ action: `/confirm/${token}`, button: 'Yes, send me papers' }],
      };
    case 'confirmed':
      return {
        heading: 'You are subscribed',
        paragraphs: [
          'Your first digest arrives at the hour you chose. Every digest has a link to your preferences and a one-click unsubscribe link.',
        ],
      };
    case 'already-active':
      return { heading: 'Already confirmed', paragraphs: ['This subscription is active; nothing changed.'] };
    case 'not-pending':
      return {
        heading: 'This link is no longer active',
        paragraphs: ['This subscription was cancelled. Sign up again on the home page to receive digests.'],
        isError: true,
      };
    case 'suppressed':
      return {
        heading: 'Paperboy does not mail this address',
        paragraphs: [
          'Mail to this address bounced, or a Paperboy mail was reported as spam from it, so it is not confirmed. If that was a mistake, ask whoever runs this Paperboy to lift it.',
        ],
        isError: true,
      };
  }
}

/**
 * Whether a POST to the unsubscribe URL is RFC 8058's one-click: `List-Unsubscribe=One-Click`,
 * urlencoded (parsed to an object) or multipart/form-data (left as text by the catch-all parser).
 */
function isOneClick(body: unknown): boolean {
  if (typeof body === 'object' && body !== null) return 'List-Unsubscribe' in body;
  return (
    typeof body === 'string' && /name="?List-Unsubscribe"?[^\r\n]*(?:\r?\n[^\r\n]+)*\r?\n\r?\n\s*One-Click/i.test(body)
  );
}
