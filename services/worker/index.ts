import type { Worker } from 'bullmq';
import type { Services } from '../compose.ts';
import { createWorker } from '../core/queues.ts';
import { retryDelayMs } from '../delivery/retry.ts';
import { DIGEST_BACKOFF } from '../digests/service.ts';

/**
 * The BullMQ processors, one worker per queue. Stopping is bounded: the workers stop taking jobs,
 * a send in progress stops between messages (what it did not send stays owed, for another worker
 * or the sweeper), and after SHUTDOWN_TIMEOUT_SECONDS whatever still runs is abandoned to the lease.
 */
export function startWorkers(s: Services): { close(): Promise<void> } {
  const { redisUrl } = s.endpoints;
  const prefix = s.config.queuePrefix;
  const stopping = new AbortController();
  // Every queue keeps its finished jobs within the same bounds (JOBS_KEEP_*), applied as each job
  // finishes; the maintenance job also removes those of queues that have gone quiet.
  const keep = { removeOnComplete: s.config.jobRetention.completed, removeOnFail: s.config.jobRetention.failed };
  const settings = {
    backoffStrategy: (attemptsMade: number, type?: string) =>
      type === DIGEST_BACKOFF ? retryDelayMs(s.config.retry, attemptsMade) : 1000 * 2 ** attemptsMade,
  };

  const workers: Worker[] = [
    createWorker(
      'mail',
      redisUrl,
      prefix,
      {
        signup: async ({ subscriberIds }, job) => s.signupMails.sendJob(subscriberIds, job),
        'manage-link': async ({ subscriberId }) => s.signupMails.sendManageLink(subscriberId),
      },
      keep,
    ),
    createWorker('ingest', redisUrl, prefix, { sources: async () => s.papers.runConfigured() }, keep),
    createWorker(
      'relevance',
      redisUrl,
      prefix,
      { train: async ({ subscriberId }) => s.trainer.train(subscriberId) },
      keep,
    ),
    createWorker('maintenance', redisUrl, prefix, { retention: async () => s.retention.run(s.clock.now()) }, keep),
    createWorker(
      'digest',
      redisUrl,
      prefix,
      {
        tick: async () => s.digests.tick(s.clock.now()),
        sweep: async () => ({
          deliveries: await s.digests.sweep(s.clock.now()),
          signups: await s.signups.sweepUnsent(s.clock.now(), s.config.sweepAfterSeconds),
        }),
        send: async ({ deliveryIds }, job) => s.digests.sendJob(deliveryIds, job, s.clock.now(), stopping.signal),
      },
      { concurrency: 2, settings, ...keep },
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
      stopping.abort();
      const graceful = Promise.all(workers.map((w) => w.close()));
      const bound = new Promise<'timeout'>((r) =>
        setTimeout(r, s.config.shutdownTimeoutSeconds * 1000, 'timeout').unref(),
      );
      if ((await Promise.race([graceful, bound])) === 'timeout') {
        s.log.warn(
          { seconds: s.config.shutdownTimeoutSeconds },
          'workers did not stop in time; abandoning jobs in flight',
        );
        await Promise.all(workers.map((w) => w.close(true)));
      }
    },
  };
}
