import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RETENTION, startScheduler } from '../services/scheduler/index.ts';
import { createHarness, eventually, type Harness, settled } from './support/harness.ts';

/**
 * Redis keeps a bounded history of finished jobs: each queue trims its completed and failed jobs
 * (JOBS_KEEP_*) as they finish, and the maintenance run removes those past their age.
 */
describe('job history', () => {
  let h: Harness;
  const KEEP_COMPLETED = 25;
  const KEEP_FAILED = 10;
  beforeAll(async () => {
    h = await createHarness({
      env: { JOBS_KEEP_COMPLETED: String(KEEP_COMPLETED), JOBS_KEEP_FAILED: String(KEEP_FAILED) },
    });
    h.startWorkers();
  });
  afterAll(async () => h?.close());

  const redis = () => h.services.queues.redis;
  const prefix = () => h.config.queuePrefix;
  /** Keys in Redis of jobs of `queue` whose id starts with `id` (each job is a hash, plus its logs). */
  const jobKeys = async (queue: string, id: string) => {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await redis().scan(cursor, 'MATCH', `${prefix()}:${queue}:${id}*`, 'COUNT', 1000);
      keys.push(...found);
      cursor = next;
    } while (cursor !== '0');
    return keys;
  };
  /** Makes finished jobs look as if they had finished `ms` earlier (BullMQ orders them by that time). */
  const finishedEarlier = async (queue: string, state: 'completed' | 'failed', ids: string[], ms: number) => {
    const key = `${prefix()}:${queue}:${state}`;
    for (const id of ids) {
      const score = Number(await redis().zscore(key, id));
      await redis().zadd(key, 'XX', score - ms, id);
    }
  };

  it('keeps at most JOBS_KEEP_COMPLETED signup jobs however many signups went through, and mails every one', async () => {
    const n = 150;
    for (let i = 0; i < n; i++) {
      // One after the other: each signup is its own batch, so its own job.
      const res = await h.app.inject({
        method: 'POST',
        url: '/api/subscriptions',
        payload: { email: `reader-${i}@example.org` },
      });
      expect(res.statusCode).toBe(202);
    }
    await settled(h, 'mail');
    await eventually(async () => expect(h.sink.messages.length).toBe(n));

    const mail = h.services.queues.get('mail');
    expect(await mail.getCompletedCount()).toBe(KEEP_COMPLETED);
    expect((await jobKeys('mail', 'signup_')).length).toBeLessThanOrEqual(KEEP_COMPLETED);
    // Every confirmation is recorded as sent, so the sweeper, which reads a trimmed job as gone,
    // queues none of them again.
    const owed = await h.services.db.query(
      "SELECT count(*)::integer AS n FROM subscribers WHERE status = 'pending' AND confirm_sent_at IS NULL",
    );
    expect(owed.rows[0]?.n).toBe(0);
    expect(await h.services.signups.sweepUnsent(h.clock.now(), 0)).toBe(0);
    await settled(h, 'mail');
    expect(h.sink.messages.length).toBe(n);
  });

  it('keeps at most JOBS_KEEP_FAILED failed jobs', async () => {
    const ingest = h.services.queues.get('ingest');
    // Jobs no worker knows fail at once, after their one attempt.
    for (let i = 0; i < 30; i++) await ingest.add('unknown', {}, { jobId: `unknown_${i}` });
    await settled(h, 'ingest');
    await eventually(async () => expect(await ingest.getJob('unknown_29')).toBeTruthy());
    await eventually(async () => expect(await ingest.getFailedCount()).toBe(KEEP_FAILED));
    expect((await jobKeys('ingest', 'unknown_')).length).toBe(KEEP_FAILED);
  });

  it('removes finished jobs past their age in the maintenance run, in every queue', async () => {
    const mail = h.services.queues.get('mail');
    const ingest = h.services.queues.get('ingest');
    const completed = (await mail.getCompleted()).map((j) => j.id as string);
    const failed = (await ingest.getFailed()).map((j) => j.id as string);
    // Ten completed jobs an hour and a minute old, three failed jobs eight days old.
    await finishedEarlier('mail', 'completed', completed.slice(0, 10), 61 * 60_000);
    await finishedEarlier('ingest', 'failed', failed.slice(0, 3), 8 * 86_400_000);

    const report = await h.services.retention.run(h.clock.now());
    expect(report.jobs.mail).toEqual({ completed: 10, failed: 0 });
    expect(report.jobs.ingest).toEqual({ completed: 0, failed: 3 });
    expect(await mail.getCompletedCount()).toBe(KEEP_COMPLETED - 10);
    expect(await ingest.getFailedCount()).toBe(KEEP_FAILED - 3);
    for (const id of completed.slice(0, 10)) expect(await mail.getJob(id)).toBeUndefined();
    for (const id of completed.slice(10)) expect(await mail.getJob(id)).toBeDefined();

    const again = await h.services.retention.run(h.clock.now());
    expect(Object.values(again.jobs)).toEqual(Object.values(again.jobs).map(() => ({ completed: 0, failed: 0 })));
  });

  it('runs retention on the maintenance queue, scheduled every RETENTION_EVERY_HOURS', async () => {
    const scheduler = await startScheduler(h.services);
    try {
      const maintenance = h.services.queues.get('maintenance');
      expect(await maintenance.getJobScheduler(RETENTION)).toMatchObject({ every: 24 * 3_600_000 });
      // A new schedule's first job runs at once; what it deleted is the job's result.
      const done = await eventually(async () => {
        const [job] = await maintenance.getCompleted();
        expect(job?.name).toBe('retention');
        return job;
      });
      expect(done?.returnvalue).toMatchObject({ pendingSignups: 0, observations: 0, ingestRuns: 0 });
    } finally {
      scheduler.close();
    }
  });
});
