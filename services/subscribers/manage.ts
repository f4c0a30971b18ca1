import type { Clock } from '../core/clock.ts';
import type { Db } from '../core/db.ts';
import { Conflict, NotFound } from '../core/errors.ts';
import type { TokenPurpose, Tokens } from '../core/tokens.ts';
import {
  createSubscriberRepository,
  type Preferences,
  preferencesOf,
  type Subscriber,
  type SubscriberStatus,
} from './repository.ts';
import { mergePreferences, PreferencesInput } from './schemas.ts';

export interface SubscriptionView {
  email: string;
  status: SubscriberStatus;
  preferences: Preferences;
  /** When the next digest is due, while active. */
  nextDigestAt: string | null;
}

const view = (s: Subscriber): SubscriptionView => ({
  email: s.email,
  status: s.status,
  preferences: preferencesOf(s),
  nextDigestAt: s.next_send_at?.toISOString() ?? null,
});

type LinkPurpose = Extract<TokenPurpose, 'manage' | 'unsubscribe'>;

/**
 * What a subscriber does through the tokenised links in their mail: see and change preferences,
 * pause, leave and come back, download or erase their data. The token is the only credential.
 */
export function createManageService({ db, tokens, clock }: { db: Db; tokens: Tokens; clock: Clock }) {
  const repo = createSubscriberRepository(db);

  async function load(token: string, purpose: LinkPurpose): Promise<Subscriber> {
    const s = await repo.findById(tokens.verify(purpose, token, clock.now()));
    if (!s) throw new NotFound('This subscription no longer exists.', 'subscription_gone');
    return s;
  }

  /** Moves to `to` from any of `from`; already being there is fine; anything else is a conflict. */
  async function transition(
    token: string,
    purpose: LinkPurpose,
    to: SubscriberStatus,
    from: SubscriberStatus[],
    conflict: (s: Subscriber) => string,
  ): Promise<SubscriptionView> {
    const s = await load(token, purpose);
    if (s.status !== to) {
      if (
        !from.includes(s.status) ||
        !(await db.tx((c) => createSubscriberRepository(c).setStatus(s.id, to, from, clock.now())))
      ) {
        throw new Conflict(conflict(s), 'invalid_state');
      }
    }
    return view((await repo.findById(s.id)) as Subscriber);
  }

  const confirmFirst = (s: Subscriber) =>
    s.status === 'pending'
      ? 'Confirm the address first with the link in the confirmation mail.'
      : s.status === 'bounced'
        ? 'Mail to this address bounced. Sign up again to confirm it works.'
        : `This subscription is ${s.status}.`;

  return {
    load,

    async view(token: string, purpose: LinkPurpose = 'manage'): Promise<SubscriptionView> {
      return view(await load(token, purpose));
    },

    async updatePreferences(token: string, raw: unknown): Promise<SubscriptionView> {
      const input = PreferencesInput.parse(raw);
      const s = await load(token, 'manage');
      if (!(await repo.updatePreferences(s.id, mergePreferences(preferencesOf(s), input), clock.now()))) {
        throw new Conflict(confirmFirst(s), 'invalid_state');
      }
      return view((await repo.findById(s.id)) as Subscriber);
    },

    pause: (token: string) => transition(token, 'manage', 'paused', ['active'], confirmFirst),
    resume: (token: string) => transition(token, 'manage', 'active', ['paused'], confirmFirst),

    /** Leaving always succeeds: doing it twice, or after a bounce, changes nothing and is no error. */
    async unsubscribe(token: string, purpose: LinkPurpose): Promise<SubscriptionView | undefined> {
      const s = await repo.findById(tokens.verify(purpose, token, clock.now()));
      if (!s) return undefined;
      if (['pending', 'active', 'paused'].includes(s.status)) {
        await db.tx((c) =>
          createSubscriberRepository(c).setStatus(s.id, 'unsubscribed', ['pending', 'active', 'paused'], clock.now()),
        );
      }
      return view((await repo.findById(s.id)) as Subscriber);
    },

    /** Undoing an unsubscribe, or coming back later: only for an address that was confirmed. */
    async resubscribe(token: string, purpose: LinkPurpose): Promise<SubscriptionView> {
      const s = await load(token, purpose);
      if (s.status === 'unsubscribed' && !s.confirmed_at) {
        throw new Conflict('This address was never confirmed. Sign up again on the home page.', 'invalid_state');
      }
      return transition(token, purpose, 'active', ['unsubscribed', 'paused'], confirmFirst);
    },

    /** Everything stored about the subscriber, as they can download it. */
    async exportData(token: string) {
      const s = await load(token, 'manage');
      return {
        exportedAt: clock.now().toISOString(),
        subscriber: {
          email: s.email,
          status: s.status,
          preferences: preferencesOf(s),
          createdAt: s.created_at,
          confirmationSentAt: s.confirm_sent_at,
          confirmationGivenUpAt: s.confirm_given_up_at,
          confirmationError: s.confirm_last_error,
          confirmedAt: s.confirmed_at,
          pausedAt: s.paused_at,
          unsubscribedAt: s.unsubscribed_at,
          nextDigestAt: s.next_send_at,
        },
        digests: await repo.exportDeliveries(s.id),
      };
    },

    /** Deletes the subscriber and their history, keeping only a hash of the address as a suppression. */
    async erase(token: string): Promise<void> {
      const id = tokens.verify('manage', token, clock.now());
      await db.tx((c) => createSubscriberRepository(c).erase(id));
    },
  };
}

export type ManageService = ReturnType<typeof createManageService>;
