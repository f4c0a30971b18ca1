import type { Queryable } from '../core/db.ts';
import { loadQueries } from '../core/sql.ts';

const sql = loadQueries(new URL('./reports.sql', import.meta.url), [
  'ping',
  'count-by-status',
  'count-given-up-confirmations',
  'estimated-rows',
  'estimated-statuses',
  'deliveries-by-status',
  'deliveries-owed',
  'send-latency',
  'digest-days',
  'recent-ingest-runs',
  'recent-suppressions',
]);

/** Rows of one table by status. */
export type StatusCounts = { status: string; n: number }[];

/** One day of digests on the status page: every delivery planned for it, by state. */
export interface DigestDay {
  day: string;
  due: number;
  sent: number;
  failed: number;
  bounced: number;
  skipped: number;
  owed: number;
}

/** One read of a paper source, as the status page lists it. */
export interface IngestRunReport {
  source: string;
  location: string;
  started_at: Date;
  finished_at: Date;
  status: 'ok' | 'failed';
  entries: number | null;
  new: number | null;
  updated: number | null;
  unchanged: number | null;
  skipped: number | null;
  error: string | null;
}

/** A suppressed address as the status page lists it: the first digits of its hash. */
export interface SuppressionReport {
  hash_prefix: string;
  reason: string;
  created_at: Date;
  total: number;
}

/**
 * The operator's read model: reports over the tables the other domains write, for /metrics and the
 * status page at /admin. It writes nothing.
 */
export function createOpsRepository(db: Queryable) {
  const rows = async <R extends object>(text: string, params?: unknown[]) =>
    (await db.query<R & Record<string, unknown>>(text, params)).rows as R[];
  return {
    ping: () => db.query(sql.ping),
    /** PostgreSQL's estimate of each table's rows (-1 before its first ANALYZE), by name. */
    async estimatedRows(tables: string[]): Promise<Map<string, number>> {
      return new Map(
        (await rows<{ name: string; n: number }>(sql['estimated-rows'], [tables])).map((r) => [r.name, r.n]),
      );
    },
    /** A table's rows by status, estimated from its statistics: a catalog lookup. */
    estimatedStatuses: (table: string) => rows<StatusCounts[number]>(sql['estimated-statuses'], [table]),
    subscribersByStatus: () => rows<StatusCounts[number]>(sql['count-by-status']),
    async givenUpConfirmations(): Promise<number> {
      return (await rows<{ n: number }>(sql['count-given-up-confirmations']))[0]?.n ?? 0;
    },
    deliveriesByStatus: () => rows<StatusCounts[number]>(sql['deliveries-by-status']),
    /** Deliveries still owed (queued, sending), through their partial index. */
    deliveriesOwed: () => rows<StatusCounts[number]>(sql['deliveries-owed']),
    /** Claim to SMTP acceptance of digests sent in the last hour, among the latest `sample` deliveries. */
    async sendLatency(sample: number): Promise<{ p50: number | null; p99: number | null } | undefined> {
      return (await rows<{ p50: number | null; p99: number | null }>(sql['send-latency'], [sample]))[0];
    },
    /** The last `limit` days that had digests since `since`, newest first. */
    digestDays: (limit: number, since: Date) => rows<DigestDay>(sql['digest-days'], [limit, since]),
    recentIngestRuns: (limit: number) => rows<IngestRunReport>(sql['recent-ingest-runs'], [limit]),
    recentSuppressions: (limit: number) => rows<SuppressionReport>(sql['recent-suppressions'], [limit]),
  };
}

const retentionSql = loadQueries(new URL('./retention.sql', import.meta.url), [
  'delete-expired-signups',
  'clear-confirmation-replies',
  'clear-delivery-replies',
  'delete-old-observations',
  'delete-old-ingest-runs',
]);

/** Where a walk through paper_observations has got: the primary key of the last row it read. */
export interface ObservationKey {
  paperId: number;
  /** As PostgreSQL writes it: a Date would drop the microseconds. */
  observedAt: string;
  source: string;
}

/**
 * What retention (services/ops/retention.ts) deletes and clears: each call is one statement over at
 * most `limit` rows, the oldest first, and answers how many it changed.
 */
export function createRetentionRepository(db: Queryable) {
  const changed = async (text: string, params: unknown[]) => (await db.query(text, params)).rowCount ?? 0;
  return {
    /** Signups never confirmed whose last signup or confirmation mail is older than `before`. */
    deleteExpiredSignups: (before: Date, limit: number) =>
      changed(retentionSql['delete-expired-signups'], [before, limit]),
    /** Replies to failed confirmations whose last round is older than `before`. */
    clearConfirmationReplies: (before: Date, limit: number) =>
      changed(retentionSql['clear-confirmation-replies'], [before, limit]),
    /** Reads of the sources started before `before`, except the newest 20. */
    deleteOldIngestRuns: (before: Date, limit: number) =>
      changed(retentionSql['delete-old-ingest-runs'], [before, limit]),
    /**
     * The replies of settled deliveries planned before `before`, walking the next `limit`
     * deliveries from where the last call stopped; fewer than `limit` walked means the walk has
     * reached deliveries planned since (or the end).
     */
    async clearDeliveryReplies(before: Date, limit: number): Promise<{ walked: number; cleared: number }> {
      const { rows } = await db.query<{ walked: number; cleared: number }>(retentionSql['clear-delivery-replies'], [
        before,
        limit,
      ]);
      return rows[0] ?? { walked: 0, cleared: 0 };
    },
    /**
     * Observations older than `before` that a later one, also older, supersedes, among the next
     * `limit` older ones after `after` in primary-key order; `last` is where to go on from.
     */
    async deleteOldObservations(
      before: Date,
      after: ObservationKey | undefined,
      limit: number,
    ): Promise<{ walked: number; deleted: number; last?: ObservationKey }> {
      const from = after ?? { paperId: 0, observedAt: '-infinity', source: '' };
      const { rows } = await db.query<{
        walked: number;
        deleted: number;
        paper_id: number | null;
        observed_at: string | null;
        source: string | null;
      }>(retentionSql['delete-old-observations'], [before, from.paperId, from.observedAt, from.source, limit]);
      const r = rows[0];
      if (!r) return { walked: 0, deleted: 0 };
      const last =
        r.paper_id === null || r.observed_at === null || r.source === null
          ? undefined
          : { paperId: r.paper_id, observedAt: r.observed_at, source: r.source };
      return { walked: r.walked, deleted: r.deleted, last };
    },
  };
}
