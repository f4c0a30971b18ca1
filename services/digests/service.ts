import type { JobsOptions } from 'bullmq';
import type { Logger } from '../core/logger.ts';
import type { Queues } from '../core/queues.ts';
import { type Planner, sendJobId } from './planner.ts';
import type { DigestSender } from './sender.ts';

export interface DigestRunSummary {
  due: number;
  sent: number;
  skipped: number;
  deferred: number;
  failed: number;
  bounced: number;
}

export function sendJobOptions(attempts: number): JobsOptions {
  return {
    attempts,
    backoff: { type: 'exponential', delay: 30_000 },
    removeOnComplete: { count: 1000 },
    removeOnFail: { count: 5000 },
  };
}

export function createDigestService(deps: {
  planner: Planner;
  sender: DigestSender;
  queues: Pick<Queues, 'add'>;
  log: Logger;
  sendAttempts: number;
}) {
  const { planner, sender, queues, log } = deps;
  const enqueue = (ids: number[], extra: JobsOptions = {}) =>
    queues.add(
      'digest',
      'send',
      { deliveryIds: ids },
      { jobId: sendJobId(ids), ...sendJobOptions(deps.sendAttempts), ...extra },
    );

  return {
    /** The scheduler's tick: plan what is due and hand each batch to the workers. */
    async tick(at: Date) {
      const total = await planner.planAll(at, async (b) => {
        if (b.queued.length) await enqueue(b.queued);
      });
      if (total.claimed) log.info({ at, ...total }, 'digests planned');
      return total;
    },

    /**
     * Plans and sends in this process everything due at `at`, as if the clock read that time, and
     * returns when done. Temporary failures are handed to the workers to retry later.
     */
    async runNow(at: Date): Promise<DigestRunSummary> {
      const s: DigestRunSummary = { due: 0, sent: 0, skipped: 0, deferred: 0, failed: 0, bounced: 0 };
      const planned = await planner.planAll(at, async (b) => {
        if (!b.queued.length) return;
        const r = await sender.sendBatch(b.queued);
        s.sent += r.sent;
        s.failed += r.failed;
        s.bounced += r.bounced;
        s.deferred += r.deferred.length;
        if (r.deferred.length) await enqueue(r.deferred, { delay: 30_000 });
      });
      s.due = planned.claimed;
      s.skipped = planned.skipped;
      return s;
    },

    sendBatch: sender.sendBatch,
  };
}

export type DigestService = ReturnType<typeof createDigestService>;
