import type { Clock } from '../core/clock.ts';
import type { Db } from '../core/db.ts';
import { Conflict, Invalid, NotFound } from '../core/errors.ts';
import type { Queues } from '../core/queues.ts';
import { expiredToken, invalidToken, type OpenedToken, type Tokens } from '../core/tokens.ts';
import { describeDay, type HistoryDay, historyRange } from './history.ts';
import type { Links } from './links.ts';
import { mergePreferences, type Preferences, PreferencesInput } from './preferences.ts';
import {
  awaitsConfirmation,
  createSubscriberRepository,
  type FeedDigestRow,
  preferencesOf,
  requestedPreferencesOf,
  type Subscriber,
} from './repository.ts';
import { Email } from './schemas.ts';
import { isSubscribed, SUBSCRIBED, type SubscriberStatus } from './status.ts';

export interface SubscriptionView {
  email: string;
  status: SubscriberStatus;
  preferences: Preferences;
  /** When the next digest is due, while active. */
  nextDigestAt: string | null;
}

/** What the operator's `paperboy subscriber show` reads: the row itself, and where its confirmation stands. */
export interface SubscriberLookup {
  subscriber: Subscriber;
  view: SubscriptionView;
  /** A confirmation is owed: a new signup, or a return after leaving. */
  awaitsConfirmation: boolean;
  /** The preferences a signup asked for after the subscriber left, while that return waits. */
  requestedPreferences?: Preferences;
}

/** How many digests a subscriber's private feed holds, newest first. */
export const FEED_DIGESTS = 30;

export interface ReaderFeed {
  /** The feed's own link (the same for as long as it works). */
  url: string;
  /** When the newest digest was sent (the subscription's start before any). */
  updatedAt: Date;
  digests: (FeedDigestRow & { webVersionUrl: string })[];
}

const view = (s: Subscriber): SubscriptionView => ({
  email: s.email,
  status: s.status,
  preferences: preferencesOf(s),
  nextDigestAt: s.next_send_at?.toISOString() ?? null,
});

/**
 * How long an unsubscribe can be undone from the page that did it. Long enough for "that was the
 * wrong button" and for reading the page again the next morning; short enough that the button,
 * which restarts mail, does not outlive the moment.
 */
export const UNDO_UNSUBSCRIBE_MS = 24 * 3_600_000;

/**
 * A fresh preferences link is mailed at most this often per subscriber, however often it is asked
 * for: the request needs only an unsubscribe link (which mail gateways log) or an expired one.
 */
export const MANAGE_LINK_MAIL_EVERY_SECONDS = 15 * 60;

const MANAGE_LINK_JOB = { attempts: 5, backoff: { type: 'exponential', delay: 2_000 } };

/** When an undo of an unsubscribe at `at` stops working, to the second (as a token carries it). */
const undoDeadline = (at: Date) => new Date(Math.ceil((at.getTime() + UNDO_UNSUBSCRIBE_MS) / 1000) * 1000);

/** What the unsubscribe link's POST did: only an unsubscribe it made itself can be undone. */
export type LeaveOutcome =
  | { kind: 'unsubscribed'; undoToken: string }
  | { kind: 'already' }
  /** Erased: nothing left to unsubscribe. */
  | { kind: 'gone' };

/**
 * What a subscriber does through the tokenised links in their mail. A preferences token (current:
 * not expired, not signed out) sees and changes preferences, pauses, leaves and comes back,
 * downloads or erases the data, and signs out every link. An unsubscribe token only unsubscribes,
 * undoes that for a day, and asks for a preferences link by mail. The operator looks a subscriber
 * up, exports and erases by address, with no token (the `paperboy subscriber` command).
 */
export function createManageService({
  db,
  tokens,
  clock,
  queues,
  links,
  interests,
}: {
  db: Db;
  tokens: Tokens;
  clock: Clock;
  queues: Pick<Queues, 'add'>;
  links: Pick<Links, 'viewDigest' | 'feed' | 'ownDigest'>;
  /** What the reader taught Paperboy, for their data export (the interests domain's). */
  interests: { exportOf(subscriberId: number): Promise<Record<string, unknown>> };
}) {
  const repo = createSubscriberRepository(db);

  const find = async (id: number): Promise<Subscriber> => {
    const s = await repo.findById(id);
    if (!s) throw new NotFound('This subscription no longer exists.', 'subscription_gone');
    return s;
  };

  /** A preferences token works only in its subscriber's current link epoch and until it expires. */
  function checkCurrent(t: OpenedToken, s: Subscriber) {
    if (t.epoch !== s.token_epoch) {
      throw new Invalid(
        'This link was signed out: every earlier link to these preferences stopped working. A fresh one can be mailed to the address.',
        'revoked_token',
      );
    }
    // Links from before preferences links expired carry no expiry: they count as expired.
    if (!t.expiresAt || t.expiresAt.getTime() < clock.now().getTime()) {
      throw expiredToken('A fresh one can be mailed to the address.');
    }
  }

  /** The subscriber behind a current preferences token. */
  async function authorize(token: string): Promise<Subscriber> {
    const t = tokens.open('manage', token);
    const s = await find(t.id);
    checkCurrent(t, s);
    return s;
  }

  /** Moves to `to` from any of `from`; already being there is fine; anything else is a conflict. */
  async function transition(
    s: Subscriber,
    to: SubscriberStatus,
    from: SubscriberStatus[],
    conflict: (s: Subscriber) => string,
  ): Promise<SubscriptionView> {
    if (s.status !== to) {
      if (
        !from.includes(s.status) ||
        !(await db.tx((c) => createSubscriberRepository(c).setStatus(s.id, to, from, clock.now())))
      ) {
        throw new Conflict(conflict(s), 'invalid_state');
      }
    }
    return view(await find(s.id));
  }

  const confirmFirst = (s: Subscriber) =>
    s.status === 'pending'
      ? 'Confirm the address first with the link in the confirmation mail.'
      : s.status === 'bounced'
        ? 'Mail to this address bounced. Sign up again to confirm it works.'
        : `This subscription is ${s.status}.`;

  async function resubscribe(s: Subscriber): Promise<SubscriptionView> {
    if (s.status === 'unsubscribed' && !s.confirmed_at) {
      throw new Conflict('This address was never confirmed. Sign up again on the home page.', 'invalid_state');
    }
    // A bounce or a spam report stops mail for good; a link (which may have been forwarded) does
    // not lift it. Only the operator does (`paperboy suppressions lift`).
    const reason = await repo.suppressionOf(s.email);
    if (reason === 'bounced' || reason === 'complaint') {
      throw new Conflict('Paperboy no longer mails this address.', 'invalid_state');
    }
    return transition(s, 'active', ['unsubscribed', 'paused'], confirmFirst);
  }

  /** The subscriber with this address, for the operator. */
  async function byEmail(email: string): Promise<Subscriber> {
    const s = await repo.findByEmail(Email.parse(email));
    if (!s) throw new NotFound(`no subscriber with the address ${email}`);
    return s;
  }

  /** Everything stored about the subscriber, as they can download it. */
  async function exportOf(s: Subscriber) {
    return {
      exportedAt: clock.now().toISOString(),
      subscriber: {
        email: s.email,
        status: s.status,
        preferences: preferencesOf(s),
        /** What a signup after leaving asked for, until confirmed. */
        requestedPreferences: requestedPreferencesOf(s) ?? null,
        createdAt: s.created_at,
        confirmationSentAt: s.confirm_sent_at,
        confirmationGivenUpAt: s.confirm_given_up_at,
        confirmationError: s.confirm_last_error,
        confirmedAt: s.confirmed_at,
        pausedAt: s.paused_at,
        unsubscribedAt: s.unsubscribed_at,
        nextDigestAt: s.next_send_at,
        preferencesLinkMailedAt: s.manage_link_requested_at,
      },
      pauses: await repo.exportPauses(s.id),
      digests: await repo.exportDeliveries(s.id),
      // Votes, follows and the model learned from the votes (services/interests/).
      ...(await interests.exportOf(s.id)),
    };
  }

  /** The subscriber an unsubscribe token names, or undefined once erased. */
  async function linkHolder(token: string): Promise<Subscriber | undefined> {
    return repo.findById(tokens.verify('unsubscribe', token, clock.now()));
  }

  return {
    authorize,

    async view(token: string): Promise<SubscriptionView> {
      return view(await authorize(token));
    },

    /** The link to the subscriber's private feed of their own digests. */
    async feedLink(token: string): Promise<string> {
      return links.feed(await authorize(token));
    },

    /**
     * The digests sent to the subscriber behind a feed token, newest first, each with its web
     * version: what their private feed shows. The token does nothing else; it never expires, and
     * stops working when the subscriber signs out every link or is erased.
     */
    async feed(token: string): Promise<ReaderFeed> {
      const t = tokens.open('feed', token);
      const s = await find(t.id);
      if (t.epoch !== s.token_epoch) {
        throw new Invalid(
          'This feed was signed out by its subscriber. Their preferences page has the new one.',
          'revoked_token',
        );
      }
      const digests = await repo.feedDigests(s.id, FEED_DIGESTS);
      return {
        url: links.feed(s),
        updatedAt: digests[0]?.sent_at ?? s.created_at,
        digests: digests.map((d) => ({ ...d, webVersionUrl: links.viewDigest(d.id, s.token_epoch) })),
      };
    },

    /**
     * The subscriber's last HISTORY_DAYS local days, newest first: each digest sent (with its web
     * version), skipped and why, or not planned because they had paused.
     */
    async history(token: string): Promise<HistoryDay[]> {
      const s = await authorize(token);
      const now = clock.now();
      const { from, to } = historyRange(now, s.timezone);
      const ctx = {
        hasTopics: s.topics.length > 0,
        webVersionUrl: (id: number) => links.ownDigest(token, id),
      };
      return (await repo.history(s.id, now, from, to)).map((row) => describeDay(row, ctx));
    },

    async updatePreferences(token: string, raw: unknown): Promise<SubscriptionView> {
      const input = PreferencesInput.parse(raw);
      const s = await authorize(token);
      if (!(await repo.updatePreferences(s.id, mergePreferences(preferencesOf(s), input), clock.now()))) {
        throw new Conflict(confirmFirst(s), 'invalid_state');
      }
      return view(await find(s.id));
    },

    pause: async (token: string) => transition(await authorize(token), 'paused', ['active'], confirmFirst),
    resume: async (token: string) => transition(await authorize(token), 'active', ['paused'], confirmFirst),

    /** Leaving from the preferences page: doing it twice, or after a bounce, changes nothing and is no error. */
    async unsubscribe(token: string): Promise<SubscriptionView> {
      const s = await authorize(token);
      if (isSubscribed(s.status)) {
        await db.tx((c) => createSubscriberRepository(c).setStatus(s.id, 'unsubscribed', SUBSCRIBED, clock.now()));
      }
      return view(await find(s.id));
    },

    /** Coming back from the preferences page: only for an address that was confirmed. */
    resubscribe: async (token: string) => resubscribe(await authorize(token)),

    /** Whether the subscriber behind an unsubscribe link still receives mail, or is erased (the link's page). */
    async linkState(unsubscribeToken: string): Promise<'subscribed' | 'unsubscribed' | 'gone'> {
      const s = await linkHolder(unsubscribeToken);
      if (!s) return 'gone';
      return isSubscribed(s.status) ? 'subscribed' : 'unsubscribed';
    },

    /**
     * The unsubscribe link's one action (RFC 8058 one-click, or the page's button). Leaving always
     * succeeds. Only an unsubscribe this request made can be undone, with the token it returns;
     * the link alone, as a gateway logged it, cannot subscribe anyone again.
     */
    async leave(unsubscribeToken: string): Promise<LeaveOutcome> {
      const s = await linkHolder(unsubscribeToken);
      if (!s) return { kind: 'gone' };
      const now = clock.now();
      if (
        !isSubscribed(s.status) ||
        !(await db.tx((c) => createSubscriberRepository(c).setStatus(s.id, 'unsubscribed', SUBSCRIBED, now)))
      ) {
        return { kind: 'already' };
      }
      const { unsubscribed_at } = await find(s.id);
      return {
        kind: 'unsubscribed',
        undoToken: tokens.sign('undo-unsubscribe', s.id, undoDeadline(unsubscribed_at ?? now)),
      };
    },

    /**
     * Undoes the unsubscribe that `undoToken` was given for, within UNDO_UNSUBSCRIBE_MS of it: the
     * subscriber must still be unsubscribed since that very moment, and not reported since.
     */
    async undoLeave(unsubscribeToken: string, undoToken: unknown): Promise<SubscriptionView> {
      const s = await linkHolder(unsubscribeToken);
      if (!s) throw new NotFound('This subscription no longer exists.', 'subscription_gone');
      let undo: OpenedToken;
      try {
        undo = tokens.open('undo-unsubscribe', typeof undoToken === 'string' ? undoToken : '');
      } catch {
        throw invalidToken();
      }
      if (undo.id !== s.id) throw invalidToken();
      if (s.status === 'active') return view(s);
      const tooLate = () =>
        new Invalid(
          'The time to undo has passed (a day). To receive digests again, sign up on the home page.',
          'expired_token',
        );
      if (!undo.expiresAt || clock.now().getTime() > undo.expiresAt.getTime()) throw tooLate();
      if (
        s.status !== 'unsubscribed' ||
        !s.unsubscribed_at ||
        undoDeadline(s.unsubscribed_at).getTime() !== undo.expiresAt.getTime()
      ) {
        throw new Conflict('This subscription changed since; there is nothing to undo.', 'invalid_state');
      }
      if (clock.now().getTime() > s.unsubscribed_at.getTime() + UNDO_UNSUBSCRIBE_MS) throw tooLate();
      return resubscribe(s);
    },

    /**
     * Queues a mail with a fresh preferences link to the address on record: asked for from the
     * unsubscribe page, or with an expired or signed-out preferences link (its MAC must hold).
     * At most one per MANAGE_LINK_MAIL_EVERY_SECONDS; the answer is the same either way, and the
     * worker decides whether the address may be mailed at all.
     */
    async mailManageLink(token: string, purpose: 'unsubscribe' | 'manage'): Promise<void> {
      const id = purpose === 'manage' ? tokens.open(purpose, token).id : tokens.verify(purpose, token, clock.now());
      const s = await find(id);
      const now = clock.now();
      await db.tx(async (c) => {
        if (await createSubscriberRepository(c).requestManageLink(s.id, now, MANAGE_LINK_MAIL_EVERY_SECONDS)) {
          await queues.add(
            'mail',
            'manage-link',
            { subscriberId: s.id },
            { ...MANAGE_LINK_JOB, jobId: `manage-link_${s.id}_${now.getTime()}` },
          );
        }
      });
    },

    /** Signs out every preferences link and web version mailed so far, this one included. */
    async revokeLinks(token: string): Promise<void> {
      const s = await authorize(token);
      await repo.revokeLinks(s.id);
    },

    /** Everything stored about the subscriber, as they can download it. */
    exportData: async (token: string) => exportOf(await authorize(token)),

    /**
     * Deletes the subscriber and their history, keeping only a hash of the address as a
     * suppression. Ids are never reused, so every link to them ends with it. Erasing someone
     * already erased changes nothing and is no error.
     */
    async erase(token: string): Promise<void> {
      const t = tokens.open('manage', token);
      const s = await repo.findById(t.id);
      if (!s) return;
      checkCurrent(t, s);
      await db.tx((c) => createSubscriberRepository(c).erase(s.id));
    },

    /** The operator's view of the subscriber with this address (NotFound if there is none). */
    async lookup(email: string): Promise<SubscriberLookup> {
      const s = await byEmail(email);
      return {
        subscriber: s,
        view: view(s),
        awaitsConfirmation: awaitsConfirmation(s),
        requestedPreferences: requestedPreferencesOf(s),
      };
    },

    /** Everything stored about the subscriber with this address, for the operator. */
    exportByEmail: async (email: string) => exportOf(await byEmail(email)),

    /** Erases the subscriber with this address, as their own preferences link would. */
    async eraseByEmail(email: string): Promise<string> {
      const s = await byEmail(email);
      await db.tx((c) => createSubscriberRepository(c).erase(s.id));
      return s.email;
    },
  };
}

export type ManageService = ReturnType<typeof createManageService>;
