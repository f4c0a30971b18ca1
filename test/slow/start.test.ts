import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../services/core/paths.ts';
import { freePort, isAlive } from '../../services/local/ports.ts';
import { type RuntimeInfo, runtimeFile } from '../../services/local/stack.ts';
import { cleanEnv, runCli } from '../support/harness.ts';

/**
 * What a newcomer does: `npm start` with no settings runs every role on local servers it starts
 * itself (embedded PostgreSQL, a redis-server child, the built-in mail catcher), and CLI commands
 * run beside it use the same servers.
 */
describe('npm start on local defaults', () => {
  let child: ChildProcess;
  let dataDir: string;
  let base: string;
  let output = '';
  let env: Record<string, string>;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'paperboy-start-'));
    chmodSync(dataDir, 0o755);
    const port = await freePort();
    base = `http://localhost:${port}`;
    env = { DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn' };
    child = spawn(process.execPath, [path.join(ROOT, 'bin/paperboy.mjs'), 'start'], {
      env: cleanEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d) => {
      output += d;
    });
    child.stderr?.on('data', (d) => {
      output += d;
    });
    const deadline = Date.now() + 60_000;
    while (!output.includes('Paperboy is running')) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`start failed:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const get = async (p: string) => {
    const res = await fetch(`${base}${p}`);
    return { status: res.status, body: await res.text() };
  };

  /** Reads the newest message to `to` through the mailbox pages, returning its listed links. */
  const mailboxLinks = async (subjectPattern: RegExp) => {
    const list = await get('/mailbox');
    const entry = [...list.body.matchAll(/<a href="\/mailbox\/([\w-]+)">([^<]+)<\/a>/g)].find((m) =>
      subjectPattern.test(m[2] as string),
    );
    if (!entry) throw new Error(`no mail matching ${subjectPattern} in:\n${list.body}`);
    const page = await get(`/mailbox/${entry[1]}`);
    expect(page.status).toBe(200);
    return [...page.body.matchAll(/<li><a href="([^"]+)">/g)].map((m) => m[1] as string);
  };

  it('serves healthz, the signup page and records its servers for the CLI', async () => {
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/')).body).toContain('action="/subscribe"');
    const info = JSON.parse(readFileSync(runtimeFile(dataDir), 'utf8')) as RuntimeInfo;
    expect(info.databaseUrl).toMatch(/^postgres:\/\/.*@127\.0\.0\.1:\d+\/paperboy$/);
    expect(info.redisUrl).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(info.smtpUrl).toMatch(/^smtp:\/\/127\.0\.0\.1:\d+$/);
  });

  it('signs up, shows the confirmation in the mailbox page, confirms, and the CLI sends a digest', async () => {
    const res = await fetch(`${base}/api/subscriptions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'newcomer@example.org' }),
    });
    expect(res.status).toBe(202);

    let links: string[] = [];
    const deadline = Date.now() + 15_000;
    while (!links.length) {
      links = await mailboxLinks(/Confirm your Paperboy subscription/).catch((e) => {
        if (Date.now() > deadline) throw e;
        return [];
      });
      if (!links.length) await new Promise((r) => setTimeout(r, 200));
    }
    const confirm = links.find((l) => l.startsWith(`${base}/confirm/`));
    expect(confirm).toBeDefined();
    // The link opens a page with one button; the button (a POST to the same URL) confirms.
    const confirmPath = new URL(confirm as string).pathname;
    expect((await get(confirmPath)).body).toContain(`<form method="post" action="${confirmPath}">`);
    const confirmed = await fetch(`${base}${confirmPath}`, { method: 'POST' });
    expect(await confirmed.text()).toContain('You are subscribed');

    // The default delivery hour is 08:00 UTC: the next one after the confirmation.
    const due = new Date();
    due.setUTCHours(8, 0, 30, 0);
    if (due.getTime() <= Date.now()) due.setUTCDate(due.getUTCDate() + 1);
    const at = due.toISOString();
    const run = await runCli(['digest', 'run', '--at', at], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/1 due, 1 sent/);

    const digestLinks = await mailboxLinks(/trending papers today/);
    expect(digestLinks.some((l) => l.startsWith(`${base}/u/`))).toBe(true);
  });

  it('gives a CLI command beside it the service’s links, and says when its own PUBLIC_URL differs', async () => {
    // The service runs on a port of its own and no PUBLIC_URL; the command knows neither.
    const { PORT: _port, ...besides } = env;
    const preview = await runCli(['digest', 'preview', '--email', 'newcomer@example.org'], besides);
    expect(preview.code, preview.stderr).toBe(0);
    expect(preview.stdout).toContain(`${base}/`);
    expect(preview.stdout).not.toContain('localhost:3000');

    const elsewhere = await runCli(['digest', 'preview', '--email', 'newcomer@example.org'], {
      ...besides,
      PUBLIC_URL: 'https://papers.example.org',
    });
    expect(elsewhere.code, elsewhere.stderr).toBe(0);
    expect(elsewhere.stdout).toContain('https://papers.example.org/');
    expect(elsewhere.stderr).toContain(
      `PUBLIC_URL here is https://papers.example.org, but the running service's links point at ${base}`,
    );
  });

  it('stops on SIGTERM, taking its local servers with it', async () => {
    const info = JSON.parse(readFileSync(runtimeFile(dataDir), 'utf8')) as RuntimeInfo;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(runtimeFile(dataDir))).toBe(false);
    for (const pid of info.children) expect(isAlive(pid), `server ${pid} still running`).toBe(false);
  });
});

/** What a person sees when a start cannot work: one line that says why and what to do, no stack. */
describe('a start that cannot work', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const dataDir = (mode = 0o755) => {
    const d = mkdtempSync(path.join(tmpdir(), 'paperboy-refused-'));
    chmodSync(d, mode);
    dirs.push(d);
    return d;
  };
  const start = (env: Record<string, string>) => runCli(['start'], { LOG_LEVEL: 'warn', SOURCES: '', ...env });
  const sentence = (r: { code: number | null; stderr: string }) => {
    expect(r.code, r.stderr).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    return lines[0] as string;
  };

  it('names a port already in use, and stops the local servers it had started', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    const dir = dataDir();
    try {
      const r = await start({ DATA_DIR: dir, PORT: String(port) });
      expect(sentence(r)).toBe(
        `paperboy: port ${port} on 127.0.0.1 is already in use by another program: stop it, or choose another port with PORT`,
      );
    } finally {
      await new Promise((r) => taken.close(r));
    }
    expect(existsSync(path.join(dir, 'pg', 'postmaster.pid')), 'PostgreSQL left running').toBe(false);
    const redisPid = Number(readFileSync(path.join(dir, 'redis', 'redis-server.pid'), 'utf8'));
    expect(isAlive(redisPid), 'redis-server left running').toBe(false);
    expect(existsSync(runtimeFile(dir))).toBe(false);
  });

  it('names a PostgreSQL or a Redis that does not answer', async () => {
    const port = await freePort();
    const pgDown = await start({ DATA_DIR: dataDir(), DATABASE_URL: `postgres://paperboy@127.0.0.1:${port}/paperboy` });
    expect(sentence(pgDown)).toBe(
      `paperboy: PostgreSQL at 127.0.0.1:${port} does not answer (ECONNREFUSED): start it, or set DATABASE_URL to one that runs`,
    );
    const redisDown = await start({ DATA_DIR: dataDir(), REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(sentence(redisDown)).toBe(
      `paperboy: Redis at 127.0.0.1:${port} does not answer: start it, or set REDIS_URL to one that runs`,
    );
  });

  // As root with no way to run PostgreSQL as someone else: no user namespaces (unshare is not on
  // PATH) and a data directory inside a folder only root may enter, as root's home is.
  it.runIf(process.getuid?.() === 0)('says what to do when the local PostgreSQL cannot run as root', async () => {
    const privateDir = dataDir(0o700);
    const bin = dataDir();
    symlinkSync(process.execPath, path.join(bin, 'node'));
    const r = await start({ DATA_DIR: path.join(privateDir, 'data'), PATH: bin, PORT: String(await freePort()) });
    const line = sentence(r);
    expect(line).toMatch(/^paperboy: PostgreSQL will not run as root, this system allows no user namespace/);
    expect(line).toContain('set DATABASE_URL to a PostgreSQL server');
  });
});
