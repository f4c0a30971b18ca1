import { DelayedError, type Job, type JobsOptions } from 'bullmq';
import type { Db } from '../core/db.ts';
import type { Logger } from '../core/logger.ts';
import type { Queues } from '../core/queues.ts';
import type { DeliveryEngine, SendReport } from '../delivery/engine.ts';
import { type RetryPolicy, retryDelayMs } from '../delivery/retry.ts';
import type { RelayBreaker } from '../mail/relay-breaker.ts';
import { type Planner, sendJobId } from './planner.ts';
import { createDigestStore } from './store.ts';

export interface DigestRunSummary {
  due: number;
  sent: number;
  /** Delivered to feed-only readers: recorded, no mail sent. */
  published: number;
  skipped: number;
  deferred: number;
  failed: number;
  bounced: number;
  /** Given up because the server refused the message itself (content, size, policy). */
  refused: number;
  /** Deferred because the relay failed (connection, AUTH, sender refused), with its last reply. */
  relayDown: number;
  relayReply?: string;
  /** The relay refuses: sending is paused until then, and what is owed waits for it. */
  relayPausedUntil?: Date;
}

/** A `digest run` so far, and how many were due when it started (when counted). */
export interface DigestRunProgress extends DigestRunSummary {
  total?: number;
}

/** BullMQ's name for the retry policy in services/delivery/retry.ts, set on every worker. */
export const DIGEST_BACKOFF = 'digest';

/** What a send job is queued with; how long it is kept once finished is the workers' setting (JOBS_KEEP_*). */
export function sendJobOptions(attempts: number): JobsOptions {
  return { attempts, backoff: { type: DIGEST_BACKOFF } };
}

export interface DigestServiceDeps {
  db: Db;
  planner: Planner;
  sender: Pick<DeliveryEngine, 'sendBatch'>;
  queues: Pick<Queues, 'add'>;
  breaker: Pick<RelayBreaker, 'state'>;
  log: Logger;
  sendAttempts: number;
  batchSize: number;
  sweepAfterSeconds: number;
  leaseSeconds: number;
  retry: RetryPolicy;
}

export function createDigestService(deps: DigestServiceDeps) {
  const { planner, sender, queues, log } = deps;
  const store = createDigestStore(deps.db);
  const enqueue = (ids: number[], jobId: string, extra: JobsOptions = {}) =>
    queues.add('digest', 'send', { deliveryIds: ids }, { jobId, ...sendJobOptions(deps.sendAttempts), ...extra });

  return {
    /** The scheduler's tick: plan what is due and hand each batch to the workers. */
    async tick(at: Date) {
      const total = await planner.planAll(at, async (b) => {
        if (b.queued.length) await enqueue(b.queued, sendJobId(b.queued));
      });
      if (total.claimed) log.info({ at, ...total }, 'digests planned');
      return total;
    },

    /**
     * A send job: sends what is still owed of its deliveries. Throwing hands the job back to
     * BullMQ's backoff; deliveries already sent are skipped on the next attempt.
     */
    async sendJob(deliveryIds: number[], job: Job, now: Date, signal?: AbortSignal): Promise<SendReport> {
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      const r = await sender.sendBatch(deliveryIds, { now, lastAttempt, signal });
      if (r.relayPaused && r.resumeAt && job.token) {
        // The relay refuses, not these messages: the job waits for the breaker's next probe
        // without spending one of its attempts.
        await job.moveToDelayed(r.resumeAt.getTime(), job.token);
        throw new DelayedError();
      }
      if (r.deferred.length || r.released) {
        throw new Error(`${r.deferred.length} deferred, ${r.released} released of ${deliveryIds.length}`);
      }
      return r;
    },

    /**
     * Re-enqueues what PostgreSQL says is owed but no worker has touched for a while: jobs lost
     * with Redis, removed, or held by a worker that died. What is owed to a subscriber who has left
     * since is settled as skipped first, so no sweep takes it again. Sends stay exactly-once because each
     * delivery is claimed before it is sent; job ids are per batch and time window, so repeated
     * sweeps do not pile up jobs.
     */
    async sweep(now: Date): Promise<number> {
      await store.settleLeft(null, deps.leaseSeconds);
      // While the relay refuses, the jobs already queued wait for it: one batch is enough to make
      // sure some job is there to probe it, rather than a pile of jobs per sweep.
      const refusing = (await deps.breaker.state()).status === 'refusing';
      const owed = await store.findOwed(
        deps.sweepAfterSeconds,
        deps.leaseSeconds,
        refusing ? deps.batchSize : deps.batchSize * 50,
      );
      const window = Math.floor(now.getTime() / 1000 / deps.sweepAfterSeconds);
      for (let i = 0; i < owed.length; i += deps.batchSize) {
        const ids = owed.slice(i, i + deps.batchSize);
        await enqueue(ids, `sweep_${sendJobId(ids)}_${window}`);
      }
      if (owed.length) log.warn({ owed: owed.length }, 'owed deliveries re-enqueued by the sweeper');
      return owed.length;
    },

    /**
     * Plans and sends in this process everything due at `at`, as if the clock read that time, and
     * returns when done. Temporary failures are handed to the workers to retry later.
     * `onProgress` hears the running counts after each batch is planned and after it is sent, with
     * the number due counted beforehand (others may plan some of them meanwhile, or more may
     * become due, so it is a guide, not a promise).
     */
    async runNow(at: Date, onProgress?: (p: DigestRunProgress) => void): Promise<DigestRunSummary> {
      const s: DigestRunSummary = {
        due: 0,
        sent: 0,
        published: 0,
        skipped: 0,
        deferred: 0,
        failed: 0,
        bounced: 0,
        refused: 0,
        relayDown: 0,
      };
      const total = onProgress ? await store.countDue(at) : undefined;
      const report = () => onProgress?.({ ...s, total });
      report();
      await planner.planAll(at, async (b) => {
        s.due += b.claimed;
        s.skipped += b.skipped;
        report();
        if (!b.queued.length) return;
        const r = await sender.sendBatch(b.queued, { now: at });
        s.sent += r.sent;
        s.published += r.published;
        s.failed += r.failed;
        s.bounced += r.bounced;
        s.refused += r.refused;
        s.relayDown += r.relayDown;
        s.relayReply = r.relayReply ?? s.relayReply;
        s.relayPausedUntil = r.resumeAt ?? s.relayPausedUntil;
        s.skipped += r.stale;
        // A batch the relay stopped leaves the rest of it owed too: the workers retry it all,
        // once the breaker lets them.
        const retry = r.relayPaused ? b.queued : r.deferred;
        s.deferred += r.deferred.length + (r.relayPaused ? r.released : 0);
        if (retry.length) {
          const delay = r.resumeAt ? Math.max(0, r.resumeAt.getTime() - Date.now()) : retryDelayMs(deps.retry, 1);
          await enqueue(retry, `retry_${sendJobId(retry)}`, { delay });
        }
        report();
      });
      return s;
    },
  };
}

export type DigestService = ReturnType<typeof createDigestService>;
