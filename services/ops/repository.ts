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
