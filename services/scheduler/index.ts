import type { Services } from '../compose.ts';

export const DIGEST_TICK = 'digest-tick';

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
  s.log.info({ everySeconds: s.config.digestTickSeconds }, 'digest tick scheduled');
}
