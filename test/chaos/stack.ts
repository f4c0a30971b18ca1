import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../../services/core/logger.ts';
import { ROOT } from '../../services/core/paths.ts';
import { freePort } from '../../services/local/ports.ts';
import { type LocalPostgres, startLocalPostgres } from '../../services/local/postgres.ts';
import { type LocalRedis, startLocalRedis } from '../../services/local/redis.ts';
import { cleanEnv } from '../support/servers.ts';
import { FaultySink } from './sink.ts';

/**
 * The servers of the fault scenarios, owned by the suite so it can break them: an embedded
 * PostgreSQL and a redis-server (without persistence, so a restart comes back empty), each on a
 * fixed port so it can be restarted where the service expects it, and a faulty SMTP sink.
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
  const sink = await FaultySink.start();
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

/** `paperboy start` as its own process, as an operator runs it. */
export class PaperboyProcess {
  exited: Promise<number | null>;
  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((r) => child.once('exit', (code) => r(code)));
  }

  static async start(env: Record<string, string>): Promise<PaperboyProcess> {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/paperboy.mjs'), 'start'], {
      env: cleanEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr = (stderr + String(d)).slice(-4000);
      if (process.env.CHAOS_LOG_LEVEL) process.stderr.write(d);
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (d) => String(d).includes('Paperboy is running') && resolve());
      child.once('exit', (code) => reject(new Error(`paperboy exited with ${code} before running: ${stderr}`)));
    });
    return new PaperboyProcess(child);
  }

  get running() {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends `signal` and resolves with how long the process took to exit, in ms. */
  async kill(signal: NodeJS.Signals): Promise<number> {
    if (!this.running) return 0;
    const t0 = performance.now();
    this.child.kill(signal);
    await this.exited;
    return performance.now() - t0;
  }
}
