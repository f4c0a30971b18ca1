import type { Services } from '../compose.ts';

export const DIGEST_TICK = 'digest-tick';
export const INGEST_SOURCES = 'ingest-sources';
export const DIGEST_SWEEP = 'digest-sweep';

/**
 * Registers the repeating jobs in Redis. Job schedulers are idempotent by id, so any number of
 * scheduler processes may run: the tick still fires once per interval.
 */
export async function startScheduler(s: Services): Promise<void> {
  await s.queues
    .get('digest')
    .upsertJobScheduler(
      DIGEST_TICK,
      { every: s.config.digestTickSeconds * 1000 },
      { name: 'tick', data: {}, opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } } },
    );
  await s.queues
    .get('digest')
    .upsertJobScheduler(
      DIGEST_SWEEP,
      { every: s.config.sweepEverySeconds * 1000 },
      { name: 'sweep', data: {}, opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } } },
    );
  if (s.config.sources.length) {
    await s.queues
      .get('ingest')
      .upsertJobScheduler(
        INGEST_SOURCES,
        { every: s.config.ingestEveryMinutes * 60_000 },
        { name: 'sources', data: {}, opts: { removeOnComplete: { count: 50 }, removeOnFail: { count: 50 } } },
      );
  } else {
    await s.queues.get('ingest').removeJobScheduler(INGEST_SOURCES);
  }
  s.log.info(
    {
      digestEverySeconds: s.config.digestTickSeconds,
      ingestEveryMinutes: s.config.ingestEveryMinutes,
      sources: s.config.sources.map((x) => x.name),
    },
    'schedules registered',
  );
}
