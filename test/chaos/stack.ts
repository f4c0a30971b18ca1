import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../../services/core/logger.ts';
import { freePort } from '../../services/local/ports.ts';
import { type LocalPostgres, startLocalPostgres } from '../../services/local/postgres.ts';
import { type LocalRedis, startLocalRedis } from '../../services/local/redis.ts';
import { PaperboyProcess } from '../support/process.ts';
import { SmtpSink } from '../support/sink.ts';

/**
 * The servers of the fault scenarios, owned by the suite so it can break them: an embedded
 * PostgreSQL and a redis-server (without persistence, so a restart comes back empty), each on a
 * fixed port so it can be restarted where the service expects it, and the test SMTP sink, whose
 * faults the scenarios set.
 */
export async function startChaosStack() {
  const log = createLogger(process.env.LOG_LEVEL ?? 'warn', 'chaos');
  const dir = mkdtempSync(path.join(tmpdir(), 'paperboy-chaos-'));
  chmodSync(dir, 0o755); // as root, PostgreSQL runs as the postgres user, who must reach its data
  const pgPort = await freePort();
  const redisPort = await freePort();
  const startPg = () => startLocalPostgres(path.join(dir, 'pg'), log, { database: 'postgres', port: pgPort });
  const startRedis = () => startLocalRedis(undefined, log, { port: redisPort });
  let pg: LocalPostgres = await startPg();
  let redis: LocalRedis = await startRedis();
  // Tens of thousands of digests: it keeps who got which Message-ID, not the messages.
  const sink = await SmtpSink.start({ keepMessages: false });
  return {
    adminUrl: pg.url,
    redisUrl: redis.url,
    sink,
    async restartPostgres(downMs = 0) {
      await pg.stop();
      await new Promise((r) => setTimeout(r, downMs));
      pg = await startPg();
    },
    /** Kills redis-server and starts a new, empty one on the same port. */
    async restartRedisEmpty(downMs = 0) {
      await redis.stop();
      await new Promise((r) => setTimeout(r, downMs));
      redis = await startRedis();
    },
    async stop() {
      await sink.halt();
      await redis.stop().catch(() => {});
      await pg.stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type ChaosStack = Awaited<ReturnType<typeof startChaosStack>>;

export { PaperboyProcess };

/** A Paperboy process for a scenario; its logs pass through when CHAOS_LOG_LEVEL is set. */
export const startProcess = (env: Record<string, string>) =>
  PaperboyProcess.start(env, { echoStderr: Boolean(process.env.CHAOS_LOG_LEVEL) });
