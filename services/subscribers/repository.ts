import type { Queryable } from '../core/db.ts';
import { jsonParam, loadQueries } from '../core/sql.ts';
import { fromColumns, PREFERENCE_COLUMNS, type PreferenceColumns, type Preferences, toColumns } from './preferences.ts';
import { SUBSCRIBED, SUBSCRIBER_STATUSES, type SubscriberStatus } from './status.ts';

const sql = loadQueries(
  new URL('./subscribers.sql', import.meta.url),
  [
    'upsert-signups',
    'find-by-email',
    'find-by-id',
    'suppression-of',
    'mark-signup-mail-sent',
    'record-confirmation-failure',
    'give-up-confirmation',
    'activate',
    'revoke-links',
    'request-manage-link',
    'update-preferences',
    'set-status',
    'cancel-queued-deliveries',
    'export-deliveries',
    'export-pauses',
    'feed-digests',
    'history',
    'erase',
    'suppress-address',
    'list-suppressions',
    'lift-suppressions',
    'find-owed-confirmations',
    'claim-owed-confirmations',
    'touch-queued-confirmations',
  ],
  { prepared: ['upsert-signups'], fragments: { 'preference-columns': PREFERENCE_COLUMNS.join(', ') } },
);

/** One day of a subscriber's history: a planned delivery, or a scheduled day inside a pause (`id` null). */
export interface HistoryRow {
  id: number | null;
  day: string;
  status: 'queued' | 'sending' | 'sent' | 'failed' | 'bounced' | 'skipped' | 'paused';
  paper_count: number;
  last_error: string | null;
  due_at: Date;
  sent_at: Date | null;
  /** A digest, or the note that there was nothing new. */
  kind: 'digest' | 'nothing_new';
  /** Delivered without a mail (the reader reads their digests in their feed only). */
  unmailed: boolean;
}

/** A digest sent to a subscriber, as their private feed shows it. */
export interface FeedDigestRow {
  id: number;
  digest_date: string;
  sent_at: Date;
  papers: { id: number; title: string; arxiv_id: string | null; abstract: string; reason: string }[];
}

export const SUPPRESSION_REASONS = ['bounced', 'complaint', 'erased'] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

/** A suppressed address: its hash, and the address itself while a subscriber row still has it. */
export interface SuppressionRow {
  email_hash: string;
  reason: SuppressionReason;
  detail: string | null;
  created_at: Date;
  email: string | null;
  status: SubscriberStatus | null;
}

export interface LiftedSuppression {
  email_hash: string;
  reason: SuppressionReason;
  /** The subscriber who receives mail again, if the suppression had stopped one. */
  email: string | null;
  status: SubscriberStatus | null;
}

/** A subscribers row: what the subscriber is, with their preferences in their columns. */
export type Subscriber = SubscriberRecord & PreferenceColumns;

interface SubscriberRecord {
  id: number;
  email: string;
  status: SubscriberStatus;
  next_send_at: Date | null;
  confirm_sent_at: Date | null;
  /** Rounds of tries of the confirmation that failed on the message (relay failures not counted). */
  confirm_attempts: number;
  /** When Paperboy stopped trying to send the confirmation of this signup. */
  confirm_given_up_at: Date | null;
  /** The SMTP reply (or error) of the confirmation's last failed try. */
  confirm_last_error: string | null;
  confirmed_at: Date | null;
  unsubscribed_at: Date | null;
  paused_at: Date | null;
  created_at: Date;
  updated_at: Date;
  /** Moves on when the subscriber signs out every link; preferences and web-version links carry it. */
  token_epoch: number;
  /** When a fresh preferences link was last asked for by mail. */
  manage_link_requested_at: Date | null;
  /**
   * What a signup for this address asked for after it left, waiting for the owner to confirm: the
   * preference columns, by name. Null when no return is asked for.
   */
  requested_prefs: PreferenceColumns | null;
}

export const preferencesOf = (s: Subscriber): Preferences => fromColumns(s);

/** The preferences a signup asked for after the subscriber left, if a return waits for confirmation. */
export const requestedPreferencesOf = (s: Subscriber): Preferences | undefined =>
  s.requested_prefs ? fromColumns({ ...s, ...s.requested_prefs }) : undefined;

/** Whether a confirmation is owed to the address: a new signup, or a return after leaving. */
export const awaitsConfirmation = (s: Subscriber): boolean =>
  s.status === 'pending' || (s.status === 'unsubscribed' && s.requested_prefs !== null);

export function createSubscriberRepository(db: Queryable) {
  return {
    /**
     * Records signups, one per address, in one statement; returns each address's subscriber id.
     * No existing subscriber's preferences or status change (see upsert-signups in the SQL). New
     * and pending addresses, and unsubscribed ones (which keep the preferences asked for aside),
     * owe a confirmation, which `job` carries from `queuedAt`.
     */
    async upsertSignups(
      signups: ReadonlyArray<{ email: string; prefs: Preferences }>,
      confirmation: { job: string; queuedAt: Date },
    ): Promise<Map<string, number>> {
      const rows = signups.map(({ email, prefs }) => ({ email, ...toColumns(prefs) }));
      const result = await db.query<{ id: number; email: string }>(sql['upsert-signups'], [
        jsonParam(rows),
        confirmation.job,
        confirmation.queuedAt,
      ]);
      const ids = new Map(result.rows.map((r) => [r.email, r.id]));
      if (ids.size !== rows.length) throw new Error('signups neither written nor found');
      return ids;
    },
    async findByEmail(email: string): Promise<Subscriber | undefined> {
      const row = (await db.query<{ id: number }>(sql['find-by-email'], [email])).rows[0];
      return row ? this.findById(row.id) : undefined;
    },
    async findById(id: number): Promise<Subscriber | undefined> {
      return (await db.query<Subscriber>(sql['find-by-id'], [id])).rows[0];
    },
    async suppressionOf(email: string): Promise<'erased' | 'bounced' | 'complaint' | undefined> {
      return (await db.query<{ reason: 'erased' | 'bounced' | 'complaint' }>(sql['suppression-of'], [email])).rows[0]
        ?.reason;
    },
    async markSignupMailSent(id: number, at: Date) {
      await db.query(sql['mark-signup-mail-sent'], [id, at]);
    },
    /**
     * Notes a failed try of a confirmation; `counts` when it ended a round on a failure of the
     * message. Returns true when that round was the `maxRounds`th and the confirmation is given up.
     */
    async recordConfirmationFailure(
      id: number,
      error: string,
      f: { counts: boolean; maxRounds: number; at: Date },
    ): Promise<boolean> {
      const { rows } = await db.query<{ given_up: boolean }>(sql['record-confirmation-failure'], [
        id,
        error,
        f.counts,
        f.maxRounds,
        f.at,
      ]);
      return rows[0]?.given_up ?? false;
    },
    async giveUpConfirmation(id: number, why: string, at: Date) {
      await db.query(sql['give-up-confirmation'], [id, why, at]);
    },
    async activate(id: number, at: Date): Promise<boolean> {
      return ((await db.query(sql.activate, [id, at])).rowCount ?? 0) > 0;
    },
    /** Moves the subscriber's link epoch on; returns the new one (undefined: no such subscriber). */
    async revokeLinks(id: number): Promise<number | undefined> {
      return (await db.query<{ token_epoch: number }>(sql['revoke-links'], [id])).rows[0]?.token_epoch;
    },
    /** Records a request for a fresh preferences link; false when one was asked for less than `everySeconds` ago. */
    async requestManageLink(id: number, at: Date, everySeconds: number): Promise<boolean> {
      return ((await db.query(sql['request-manage-link'], [id, at, everySeconds])).rowCount ?? 0) > 0;
    },
    async updatePreferences(id: number, prefs: Preferences, at: Date): Promise<boolean> {
      return ((await db.query(sql['update-preferences'], [id, jsonParam(toColumns(prefs)), at])).rowCount ?? 0) > 0;
    },
    /** Moves the subscriber to `to` if their status is one of `from`; returns whether it did. */
    async setStatus(id: number, to: SubscriberStatus, from: SubscriberStatus[], at: Date): Promise<boolean> {
      const moved = ((await db.query(sql['set-status'], [id, to, from, at])).rowCount ?? 0) > 0;
      if (moved && !SUBSCRIBER_STATUSES[to].receivesDigests) await db.query(sql['cancel-queued-deliveries'], [id, to]);
      return moved;
    },
    /** The subscriber's digest days from local day `from` to `to` (YYYY-MM-DD), newest first. */
    async history(id: number, now: Date, from: string, to: string): Promise<HistoryRow[]> {
      return (await db.query<HistoryRow>(sql.history, [id, now, from, to])).rows;
    },
    /** The newest `limit` digests sent to the subscriber, with their papers, newest first. */
    async feedDigests(id: number, limit: number): Promise<FeedDigestRow[]> {
      return (await db.query<FeedDigestRow>(sql['feed-digests'], [id, limit])).rows;
    },
    async exportPauses(id: number) {
      return (await db.query(sql['export-pauses'], [id])).rows;
    },
    async exportDeliveries(id: number) {
      return (await db.query(sql['export-deliveries'], [id])).rows;
    },
    /** Stops all mail to an address a provider reported as bounced or complaining; true if it was a subscriber. */
    async suppress(email: string, reason: 'bounced' | 'complaint', detail?: string): Promise<boolean> {
      return (
        ((await db.query<{ matched: number }>(sql['suppress-address'], [email, reason, detail ?? null, SUBSCRIBED]))
          .rows[0]?.matched ?? 0) > 0
      );
    },
    async listSuppressions(filter: { reason?: SuppressionReason; since?: Date; limit: number }) {
      return (
        await db.query<SuppressionRow>(sql['list-suppressions'], [
          filter.reason ?? null,
          filter.since ?? null,
          filter.limit,
        ])
      ).rows;
    },
    async liftSuppressions(
      which: { email: string } | { reason: SuppressionReason; since?: Date },
      at: Date,
    ): Promise<LiftedSuppression[]> {
      const params = 'email' in which ? [which.email, null, null, at] : [null, which.reason, which.since ?? null, at];
      return (await db.query<LiftedSuppression>(sql['lift-suppressions'], params)).rows;
    },
    /** Owed confirmations queued more than `olderThanSeconds` before `now`, the longest untouched first. */
    async findOwedConfirmations(
      now: Date,
      olderThanSeconds: number,
      limit: number,
    ): Promise<{ id: number; confirm_job: string | null }[]> {
      return (
        await db.query<{ id: number; confirm_job: string | null }>(sql['find-owed-confirmations'], [
          now,
          olderThanSeconds,
          limit,
        ])
      ).rows;
    },
    /** Hands still-owed confirmations to `job`, each only if it still names the job it was seen with. */
    async claimOwedConfirmations(
      seen: ReadonlyArray<{ id: number; confirm_job: string | null }>,
      job: string,
      at: Date,
    ): Promise<number[]> {
      const { rows } = await db.query<{ id: number }>(sql['claim-owed-confirmations'], [
        seen.map((r) => r.id),
        seen.map((r) => r.confirm_job),
        at,
        job,
      ]);
      return rows.map((r) => r.id);
    },
    async touchQueuedConfirmations(ids: number[], at: Date) {
      if (ids.length) await db.query(sql['touch-queued-confirmations'], [ids, at]);
    },
    async erase(id: number): Promise<boolean> {
      return ((await db.query<{ erased: number }>(sql.erase, [id])).rows[0]?.erased ?? 0) > 0;
    },
  };
}

export type SubscriberRepository = ReturnType<typeof createSubscriberRepository>;
