import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../services/core/paths.ts';
import { cleanEnv, createHarness, eventually, type Harness } from './support/harness.ts';

const SUBSCRIBERS = 1500;
const KILLS = 3;

/**
 * A worker process killed with SIGKILL in the middle of a run, three times, and restarted: every
 * subscriber still gets their digest, and any second copy is the one a crash between the SMTP
 * server's 250 and the database commit can cause, with the same Message-ID.
 */
describe('killing the worker mid-run', () => {
  let h: Harness;
  let worker: ChildProcess | undefined;
  const env = () => ({
    ...h.env,
    ROLES: 'worker,scheduler',
    PORT: '0',
    RANK_WINDOW_DAYS: '365',
    DELIVERY_LEASE_SECONDS: '3',
    SWEEP_AFTER_SECONDS: '2',
    SWEEP_EVERY_SECONDS: '5',
    LOG_LEVEL: 'error',
  });
  const startWorker = async () => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/paperboy.mjs'), 'start'], {
      env: cleanEnv(env()),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (d) => String(d).includes('Paperboy is running') && resolve());
      child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
    });
    return child;
  };
  const progress = async () =>
    (
      await h.services.db.query<{ sent: number; owed: number }>(
        "SELECT count(*) FILTER (WHERE status = 'sent')::int AS sent, count(*) FILTER (WHERE status IN ('queued', 'sending'))::int AS owed FROM deliveries",
      )
    ).rows[0] as { sent: number; owed: number };

  beforeAll(async () => {
    h = await createHarness({ env: { RANK_WINDOW_DAYS: '365' } });
    await h.services.db.query(
      `INSERT INTO subscribers (email, status, next_send_at, confirmed_at)
       SELECT 'chaos' || i || '@example.org', 'active', now() - interval '1 minute', now() FROM generate_series(1, $1::int) i`,
      [SUBSCRIBERS],
    );
  }, 120_000);
  afterAll(async () => {
    worker?.kill('SIGKILL');
    await h?.close();
  });

  it(`delivers to all ${SUBSCRIBERS} subscribers through ${KILLS} kills, duplicates only with the same Message-ID`, async () => {
    const planned = await h.services.digests.tick(new Date());
    expect(planned.queued).toBe(SUBSCRIBERS);
    worker = await startWorker();
    for (let k = 1; k <= KILLS; k++) {
      const target = Math.round((SUBSCRIBERS * k) / (KILLS + 1));
      await eventually(async () => expect((await progress()).sent).toBeGreaterThanOrEqual(target), 60_000);
      worker.kill('SIGKILL');
      await new Promise((r) => worker?.once('exit', r));
      worker = await startWorker();
    }
    await eventually(async () => expect(await progress()).toEqual({ sent: SUBSCRIBERS, owed: 0 }), 90_000);
    worker.kill('SIGTERM');

    const perRecipient = new Map<string, string[]>();
    for (const m of h.sink.messages) {
      const id = /^Message-ID: (.+)$/m.exec(m.raw.toString())?.[1]?.trim() ?? '';
      for (const to of m.to) perRecipient.set(to, [...(perRecipient.get(to) ?? []), id]);
    }
    const missing = Array.from({ length: SUBSCRIBERS }, (_, i) => `chaos${i + 1}@example.org`).filter(
      (e) => !perRecipient.has(e),
    );
    const duplicated = [...perRecipient.entries()].filter(([, ids]) => ids.length > 1);
    console.log(
      `chaos: ${SUBSCRIBERS} subscribers, ${KILLS} SIGKILLs, ${h.sink.messages.length} mails, ${missing.length} missing, ${duplicated.length} duplicated`,
    );
    expect(missing).toEqual([]);
    for (const [, ids] of duplicated) expect(new Set(ids).size).toBe(1);
    // At most the sends in flight at each kill: 2 jobs × 8 concurrent sends.
    expect(duplicated.length).toBeLessThanOrEqual(KILLS * 16);
  }, 240_000);
});
