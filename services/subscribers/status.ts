import { z } from 'zod';

/**
 * Where a subscriber stands, each status defined once: whether digests are planned and sent to
 * it, whether it is still subscribed (mail about the subscription may go to it, and it can leave),
 * and how the preferences page says it. The same names are the CHECK constraint on
 * subscribers.status (test/definitions.test.ts holds the two together). SQL that a partial index
 * serves names `active` itself: subscribers_due_key_idx and the planner's claim read it.
 */
export const SUBSCRIBER_STATUSES = {
  pending: { receivesDigests: false, subscribed: true, page: 'waiting for you to confirm the address' },
  active: { receivesDigests: true, subscribed: true, page: 'active' },
  paused: { receivesDigests: false, subscribed: true, page: 'paused: no digests until you resume' },
  unsubscribed: { receivesDigests: false, subscribed: false, page: 'unsubscribed: no mail is sent' },
  bounced: { receivesDigests: false, subscribed: false, page: 'stopped: mail to this address bounced' },
} as const satisfies Record<string, { receivesDigests: boolean; subscribed: boolean; page: string }>;

export type SubscriberStatus = keyof typeof SUBSCRIBER_STATUSES;

export const STATUS_NAMES = Object.keys(SUBSCRIBER_STATUSES) as SubscriberStatus[];

export const SubscriberStatus = z.enum(STATUS_NAMES as [SubscriberStatus, ...SubscriberStatus[]]);

/** Statuses still subscribed: a signup, a pause or an unsubscribe applies to them. */
export const SUBSCRIBED = STATUS_NAMES.filter((s) => SUBSCRIBER_STATUSES[s].subscribed);

export const isSubscribed = (status: SubscriberStatus): boolean => SUBSCRIBER_STATUSES[status].subscribed;
