import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { StartupError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { freePort, isAlive, stopOrphan } from './ports.ts';
import { tailOutput, which } from './programs.ts';

export interface LocalRedis {
  url: string;
  pid?: number;
  stop(): Promise<void>;
}

const INSTALL_HINT = 'apt-get install -y redis-server';

/** Finds redis-server; on Debian as root it installs the package itself, saying so. */
export function findRedisServer(log: Logger): string {
  const found = which('redis-server', { orUsrBin: true });
  if (found) return found;
  const canInstall = process.getuid?.() === 0 && which('apt-get', { orUsrBin: true });
  if (!canInstall) {
    throw new StartupError(
      `redis-server is not installed: run \`sudo ${INSTALL_HINT}\`, or set REDIS_URL to a Redis server`,
    );
  }
  log.warn(`redis-server is not installed: running \`apt-get update && ${INSTALL_HINT}\``);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
    execFileSync('apt-get', ['install', '-y', '-qq', 'redis-server'], { stdio: 'ignore', env });
  } catch {}
  const installed = which('redis-server', { orUsrBin: true });
  if (!installed) {
    throw new StartupError(
      `redis-server is not installed and \`apt-get install redis-server\` failed: install it yourself (\`${INSTALL_HINT}\`), or set REDIS_URL to a Redis server`,
    );
  }
  return installed;
}

/**
 * A redis-server child process on a free loopback port, its append-only file under `dir`.
 * `noeviction` because BullMQ must never lose keys to memory pressure.
 */
export async function startLocalRedis(
  dir: string | undefined,
  log: Logger,
  opts: { port?: number } = {},
): Promise<LocalRedis> {
  const bin = findRedisServer(log);
  // A redis-server outlives a Paperboy killed without cleanup: its pid file lets the next one stop it.
  const pidFile = dir ? path.join(dir, 'redis-server.pid') : undefined;
  if (pidFile && existsSync(pidFile)) {
    const stale = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
    if (stale && isAlive(stale)) {
      log.warn({ orphanPid: stale }, 'stopping a local redis-server left running by a Paperboy that did not shut down');
      await stopOrphan(stale, `the local redis-server of ${dir}`);
    }
  }
  const port = opts.port ?? (await freePort());
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--maxmemory-policy', 'noeviction', '--save', ''];
  if (dir) {
    mkdirSync(dir, { recursive: true });
    args.push('--dir', dir, '--appendonly', 'yes');
  } else {
    args.push('--appendonly', 'no');
  }
  // Its own process group, so a Ctrl-C reaches Paperboy first, which stops Redis after its shutdown.
  const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const output = tailOutput(child, (line) => log.trace({ redis: line }));
  const url = `redis://127.0.0.1:${port}`;
  if (!(await waitForRedis(url, child))) {
    child.kill('SIGKILL');
    // Redis's log lines look like `1234:M 02 Dec 2026 11:00:00.000 # Failed listening on port …`.
    const line = output.find(/already in use/i) ?? output.find(/ # /) ?? output.last();
    const why = line?.replace(/^\d+:[A-Z] [^*#]*[*#] /, '') ?? 'it did not answer within 10 s';
    const inUse = /already in use/i.test(why) ? `something else listens on port ${port}: stop it, or ` : '';
    throw new StartupError(`the local redis-server did not start (${why}): ${inUse}set REDIS_URL to a Redis server`);
  }
  if (pidFile && child.pid) writeFileSync(pidFile, String(child.pid));
  log.debug({ url, pid: child.pid }, 'local redis-server started');
  return {
    url,
    pid: child.pid,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Whether the server answers a PING within 10 s (false at once if it exits). */
async function waitForRedis(url: string, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.ping();
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      client.disconnect();
    }
  }
  return false;
}
