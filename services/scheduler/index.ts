import type { Services } from '../compose.ts';
import type { QueueName } from '../core/queues.ts';

export const DIGEST_TICK = 'digest-tick';
export const INGEST_SOURCES = 'ingest-sources';
export const DIGEST_SWEEP = 'digest-sweep';

/**
 * Registers the repeating jobs in Redis. Job schedulers are idempotent by id, so any number of
 * scheduler processes may run: each job still fires once per interval.
 */
export async function startScheduler(s: Services): Promise<void> {
  const every = (queue: QueueName, id: string, ms: number, name: string) =>
    s.queues
      .get(queue)
      .upsertJobScheduler(
        id,
        { every: ms },
        { name, data: {}, opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } } },
      );
  await every('digest', DIGEST_TICK, s.config.digestTickSeconds * 1000, 'tick');
  await every('digest', DIGEST_SWEEP, s.config.sweepEverySeconds * 1000, 'sweep');
  if (s.config.sources.length) await every('ingest', INGEST_SOURCES, s.config.ingestEveryMinutes * 60_000, 'sources');
  else await s.queues.get('ingest').removeJobScheduler(INGEST_SOURCES);
  s.log.info(
    {
      digestEverySeconds: s.config.digestTickSeconds,
      sweepEverySeconds: s.config.sweepEverySeconds,
      ingestEveryMinutes: s.config.ingestEveryMinutes,
      sources: s.config.sources.map((x) => x.name),
    },
    'schedules registered',
  );
}
