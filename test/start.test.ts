import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../services/core/paths.ts';
import { freePort, isAlive } from '../services/local/ports.ts';
import { type RuntimeInfo, runtimeFile } from '../services/local/stack.ts';
import { cleanEnv, runCli } from './support/harness.ts';

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
    expect((await get(new URL(confirm as string).pathname)).body).toContain('You are subscribed');

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

  it('stops on SIGTERM, taking its local servers with it', async () => {
    const info = JSON.parse(readFileSync(runtimeFile(dataDir), 'utf8')) as RuntimeInfo;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(runtimeFile(dataDir))).toBe(false);
    for (const pid of info.children) expect(isAlive(pid), `server ${pid} still running`).toBe(false);
  });
});
