import type { Worker } from 'bullmq';
import type { Services } from '../compose.ts';
import { createWorker } from '../core/queues.ts';

/** The BullMQ processors, one worker per queue; closing waits for jobs in flight. */
export function startWorkers(s: Services): { close(): Promise<void> } {
  const { redisUrl } = s.endpoints;
  const prefix = s.config.queuePrefix;
  const workers: Worker[] = [
    createWorker('mail', redisUrl, prefix, {
      signup: async ({ subscriberId }) => s.signupMails.send(subscriberId),
    }),
    createWorker('ingest', redisUrl, prefix, {
      sources: async () => s.papers.runConfigured(),
    }),
    createWorker(
      'digest',
      redisUrl,
      prefix,
      {
        tick: async () => s.digests.tick(s.clock.now()),
        send: async ({ deliveryIds }, job) => {
          const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
          const r = await s.digests.sendBatch(deliveryIds, { lastAttempt });
          // Throwing hands the job back to BullMQ's backoff; deliveries already sent are skipped next time.
          if (r.deferred.length) throw new Error(`${r.deferred.length} of ${deliveryIds.length} deferred`);
          return r;
        },
      },
      { concurrency: 2 },
    ),
  ];
  for (const w of workers) {
    w.on('failed', (job, err) =>
      s.log.warn({ queue: w.name, job: job?.id, name: job?.name, err: err.message }, 'job failed'),
    );
    w.on('error', (err) => s.log.error({ queue: w.name, err }, 'worker error'));
  }
  return {
    async close() {
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}
