import type { Clock } from '../core/clock.ts';
import type { Queryable } from '../core/db.ts';
import { createOpsRepository, type StatusCounts } from './repository.ts';

/** Tables this large are counted from PostgreSQL's statistics, not row by row. */
const COUNT_ROWS_BELOW = 100_000;
/** The latest deliveries the send latency is measured among. */
const LATENCY_SAMPLE = 10_000;

/**
 * What operators ask PostgreSQL: whether it answers, the numbers /metrics reports, and what the
 * status page at /admin shows.
 */
export function createOpsService({ db, clock }: { db: Queryable; clock: Clock }) {
  const repo = createOpsRepository(db);
  return {
    /** Whether PostgreSQL answers: one query on a connection the pool holds. */
    ping: () => repo.ping(),

    /**
     * Subscribers and deliveries by status, and the send latency, for /metrics; the same work
     * whatever the tables hold. A table is counted row by row only while it has fewer than
     * 100,000 rows, and estimated from PostgreSQL's statistics beyond (deliveries still owed are
     * always counted, through their partial index); the latency is taken among the latest 10,000
     * deliveries.
     */
    async metrics() {
      const rows = await repo.estimatedRows(['subscribers', 'deliveries']);
      const large = (table: string) => (rows.get(table) ?? -1) >= COUNT_ROWS_BELOW;
      const byStatus: StatusCounts = large('subscribers')
        ? await repo.estimatedStatuses('subscribers')
        : await repo.subscribersByStatus();
      const deliveries: StatusCounts = large('deliveries')
        ? [
            ...(await repo.estimatedStatuses('deliveries')).filter(
              (r) => r.status !== 'queued' && r.status !== 'sending',
            ),
            ...(await repo.deliveriesOwed()),
          ]
        : await repo.deliveriesByStatus();
      return {
        byStatus,
        deliveries,
        latency: await repo.sendLatency(LATENCY_SAMPLE),
        estimated: { subscribers: large('subscribers'), deliveries: large('deliveries') },
      };
    },

    /**
     * What the status page shows from PostgreSQL: subscribers by status, the confirmations given
     * up, the last `limits.days` days of digests, the latest reads of the paper sources and the
     * newest suppressions.
     */
    async statusPage(limits: { days: number; runs: number; suppressions: number }) {
      // Days are looked for among the last 4 × `days` calendar days: the BRIN index on
      // digest_date keeps the read to the recent part of the table.
      const since = new Date(clock.now().getTime() - 4 * limits.days * 86_400_000);
      const [subscribers, confirmationsGivenUp, days, runs, suppressions] = await Promise.all([
        repo.subscribersByStatus(),
        repo.givenUpConfirmations(),
        repo.digestDays(limits.days, since),
        repo.recentIngestRuns(limits.runs),
        repo.recentSuppressions(limits.suppressions),
      ]);
      return { subscribers, confirmationsGivenUp, days, runs, suppressions };
    },
  };
}

export type OpsService = ReturnType<typeof createOpsService>;
