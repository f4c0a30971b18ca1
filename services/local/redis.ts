import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Logger } from '../core/logger.ts';
import { freePort, isAlive, stopOrphan } from './ports.ts';

export interface LocalRedis {
  url: string;
  pid?: number;
  stop(): Promise<void>;
}

export class MissingRedisError extends Error {}

const INSTALL_HINT = 'apt-get install -y redis-server';

function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = `${dir}/${cmd}`;
    if (dir && existsSync(p)) return p;
  }
  // Debian installs it in /usr/bin, which a trimmed PATH may lack.
  return existsSync(`/usr/bin/${cmd}`) ? `/usr/bin/${cmd}` : undefined;
}

/** Finds redis-server; on Debian as root it installs the package itself, saying so. */
export function findRedisServer(log: Logger): string {
  const found = which('redis-server');
  if (found) return found;
  const canInstall = process.getuid?.() === 0 && which('apt-get');
  if (!canInstall) {
    throw new MissingRedisError(`redis-server is not installed: run \`sudo ${INSTALL_HINT}\` or set REDIS_URL`);
  }
  log.warn(`redis-server is not installed: running \`apt-get update && ${INSTALL_HINT}\``);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
  execFileSync('apt-get', ['install', '-y', '-qq', 'redis-server'], { stdio: 'ignore', env });
  const installed = which('redis-server');
  if (!installed)
    throw new MissingRedisError(`installing redis-server failed: run \`${INSTALL_HINT}\` or set REDIS_URL`);
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
  const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const url = `redis://127.0.0.1:${port}`;
  await waitForRedis(url, child, () => stderr);
  if (pidFile && child.pid) writeFileSync(pidFile, String(child.pid));
  log.debug({ url, pid: child.pid }, 'local redis-server started');
  return {
    url,
    pid: child.pid,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function waitForRedis(url: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited: ${stderr().trim()}`);
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.ping();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      client.disconnect();
    }
  }
  throw new Error('redis-server did not answer within 10 s');
}
