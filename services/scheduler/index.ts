import type { Services } from '../compose.ts';
import type { QueueName } from '../core/queues.ts';

export const DIGEST_TICK = 'digest-tick';
export const INGEST_SOURCES = 'ingest-sources';
export const DIGEST_SWEEP = 'digest-sweep';
export const RETENTION = 'maintenance-retention';

/**
 * Registers the repeating jobs in Redis. Job schedulers are idempotent by id, so any number of
 * scheduler processes may run: each job still fires once per interval. Redis is not the truth:
 * if it comes back empty (restarted without persistence, or flushed), the schedules are
 * registered again within a sweep interval, and the sweeper then re-enqueues what is owed.
 */
export async function startScheduler(s: Services): Promise<{ close(): void }> {
  await registerSchedules(s);
  const watch = setInterval(async () => {
    try {
      if (await s.queues.get('digest').getJobScheduler(DIGEST_TICK)) return;
      s.log.warn('job schedules missing from Redis; registering them again');
      await registerSchedules(s);
    } catch (e) {
      s.log.debug({ err: e }, 'could not check the job schedules; Redis unreachable?');
    }
  }, s.config.sweepEverySeconds * 1000);
  watch.unref();
  return { close: () => clearInterval(watch) };
}

async function registerSchedules(s: Services): Promise<void> {
  // Finished jobs are kept as the workers' JOBS_KEEP_* settings say, like every other job.
  const every = (queue: QueueName, id: string, ms: number, name: string) =>
    s.queues.get(queue).upsertJobScheduler(id, { every: ms }, { name, data: {} });
  await every('digest', DIGEST_TICK, s.config.digestTickSeconds * 1000, 'tick');
  await every('digest', DIGEST_SWEEP, s.config.sweepEverySeconds * 1000, 'sweep');
  await every('maintenance', RETENTION, s.config.retention.everyHours * 3_600_000, 'retention');
  if (s.config.sources.length) await every('ingest', INGEST_SOURCES, s.config.ingestEveryMinutes * 60_000, 'sources');
  else await s.queues.get('ingest').removeJobScheduler(INGEST_SOURCES);
  s.log.info(
    {
      digestEverySeconds: s.config.digestTickSeconds,
      sweepEverySeconds: s.config.sweepEverySeconds,
      ingestEveryMinutes: s.config.ingestEveryMinutes,
      retentionEveryHours: s.config.retention.everyHours,
      sources: s.config.sources.map((x) => x.name),
    },
    'schedules registered',
  );
}
