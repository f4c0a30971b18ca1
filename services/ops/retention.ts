import type { Queryable } from '../core/db.ts';
import type { Logger } from '../core/logger.ts';
import { QUEUE_NAMES, type QueueName, type Queues } from '../core/queues.ts';
import { createRetentionRepository, type ObservationKey } from './repository.ts';

/**
 * Rows per statement: each one is short and locks only the rows it changes, so a run never holds
 * up signups, planning or sending, however much it has to do (a first run on an old database).
 */
const CHUNK_ROWS = 5000;
/** Jobs BullMQ removes per call: each call is one Redis script, which blocks Redis while it runs. */
const JOB_CHUNK = 1000;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** How long each kind of data is kept; see README, Retention. */
export interface RetentionPolicy {
  /** Days a never-confirmed signup is kept after its confirmation link expired. */
  pendingDays: number;
  /** How long a confirmation link works (CONFIRM_TTL_HOURS). */
  confirmTtlHours: number;
  observationsDays: number;
  ingestRunsDays: number;
  repliesDays: number;
  /** Finished jobs are kept for at most this many seconds (JOBS_KEEP_*). */
  jobs: { completed: { age: number }; failed: { age: number } };
}

export interface RetentionReport {
  pendingSignups: number;
  observations: number;
  ingestRuns: number;
  /** Deliveries whose SMTP replies were cleared. */
  deliveryReplies: number;
  /** Subscribers whose last confirmation reply was cleared. */
  confirmationReplies: number;
  /** Finished jobs removed from Redis, per queue. */
  jobs: Record<QueueName, { completed: number; failed: number }>;
}

export interface RetentionDeps {
  db: Queryable;
  queues: Pick<Queues, 'get'>;
  log: Logger;
  policy: RetentionPolicy;
  /** Rows per statement (default 5,000). */
  chunkRows?: number;
}

/**
 * Deletes what no longer serves anyone, so that neither PostgreSQL nor Redis grows with time
 * alone: signups nobody confirmed, paper observations the ranking no longer reads, old reads of
 * the sources, the servers' old replies, and finished jobs. Run by the maintenance queue every
 * RETENTION_EVERY_HOURS and by `paperboy retention run`; a second run right after deletes nothing.
 */
export function createRetention(deps: RetentionDeps) {
  const { policy } = deps;
  const repo = createRetentionRepository(deps.db);
  const CHUNK = deps.chunkRows ?? CHUNK_ROWS;

  /** Runs a statement that changes at most CHUNK rows until one changes fewer. */
  async function inChunks(step: (before: Date, limit: number) => Promise<number>, before: Date): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await step(before, CHUNK);
      total += n;
      if (n < CHUNK) return total;
    }
  }

  async function deliveryReplies(before: Date): Promise<number> {
    let total = 0;
    for (;;) {
      const r = await repo.clearDeliveryReplies(before, CHUNK);
      total += r.cleared;
      if (r.walked < CHUNK) return total;
    }
  }

  async function observations(before: Date): Promise<number> {
    let total = 0;
    let after: ObservationKey | undefined;
    for (;;) {
      const r = await repo.deleteOldObservations(before, after, CHUNK);
      total += r.deleted;
      if (r.walked < CHUNK || !r.last) return total;
      after = r.last;
    }
  }

  /**
   * Removes finished jobs past their age from every queue, which matters for a queue no job
   * finishes in any more: BullMQ trims a queue as each of its jobs finishes. Ages are measured as
   * BullMQ records them, by the clock of the machine that finished the job.
   */
  async function jobs(): Promise<RetentionReport['jobs']> {
    const removed = {} as RetentionReport['jobs'];
    for (const name of QUEUE_NAMES) {
      const queue = deps.queues.get(name);
      const clean = async (state: 'completed' | 'failed', ageSeconds: number) => {
        let total = 0;
        for (;;) {
          const n = (await queue.clean(ageSeconds * 1000, JOB_CHUNK, state)).length;
          total += n;
          if (n < JOB_CHUNK) return total;
        }
      };
      removed[name] = {
        completed: await clean('completed', policy.jobs.completed.age),
        failed: await clean('failed', policy.jobs.failed.age),
      };
    }
    return removed;
  }

  return {
    /** One pass over everything retention covers, as of `now`; says what it removed. */
    async run(now: Date): Promise<RetentionReport> {
      const before = (ms: number) => new Date(now.getTime() - ms);
      const report: RetentionReport = {
        pendingSignups: await inChunks(
          repo.deleteExpiredSignups,
          before(policy.confirmTtlHours * HOUR + policy.pendingDays * DAY),
        ),
        observations: await observations(before(policy.observationsDays * DAY)),
        ingestRuns: await inChunks(repo.deleteOldIngestRuns, before(policy.ingestRunsDays * DAY)),
        deliveryReplies: await deliveryReplies(before(policy.repliesDays * DAY)),
        confirmationReplies: await inChunks(repo.clearConfirmationReplies, before(policy.repliesDays * DAY)),
        jobs: await jobs(),
      };
      deps.log.info(report, 'retention run');
      return report;
    },
  };
}

export type Retention = ReturnType<typeof createRetention>;

/** A report in one sentence, for the command line. */
export function describeRetention(r: RetentionReport): string {
  const n = (count: number, one: string, many = `${one}s`) =>
    `${count.toLocaleString('en')} ${count === 1 ? one : many}`;
  const jobs = Object.entries(r.jobs)
    .filter(([, j]) => j.completed + j.failed > 0)
    .map(
      ([queue, j]) => `${queue} ${j.completed.toLocaleString('en')} completed, ${j.failed.toLocaleString('en')} failed`,
    );
  return (
    `Deleted ${n(r.pendingSignups, 'signup')} never confirmed, ${n(r.observations, 'paper observation')} and ` +
    `${n(r.ingestRuns, 'ingest run')}; cleared the SMTP replies of ${n(r.deliveryReplies, 'delivery', 'deliveries')} ` +
    `and ${n(r.confirmationReplies, 'confirmation')}; removed finished jobs: ${jobs.length ? jobs.join('; ') : 'none'}.`
  );
}
