import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type ParsedMail, simpleParser } from 'mailparser';
import { inject } from 'vitest';
import { buildApp } from '../../services/api/app.ts';
import { composeServices, type Services } from '../../services/compose.ts';
import type { Clock } from '../../services/core/clock.ts';
import { type Config, loadConfig } from '../../services/core/config.ts';
import { createLogger } from '../../services/core/logger.ts';
import { ROOT } from '../../services/core/paths.ts';
import { QUEUE_NAMES } from '../../services/core/queues.ts';
import { prepareDatabase } from '../../services/main.ts';
import { startWorkers } from '../../services/worker/index.ts';
import { cleanEnv, createScratchDatabase } from './servers.ts';
import { type CaughtMail, type Faults, SmtpSink } from './sink.ts';

export const TEST_SECRET = 'test-secret-'.padEnd(48, 'x');

/** A clock the test moves by hand. */
export class TestClock implements Clock {
  constructor(public at = new Date('2026-03-02T10:00:00Z')) {}
  now() {
    return new Date(this.at);
  }
  set(iso: string) {
    this.at = new Date(iso);
  }
}

export interface Harness {
  config: Config;
  services: Services;
  app: FastifyInstance;
  sink: SmtpSink;
  clock: TestClock;
  /** Environment that points a child `paperboy` process at this harness's servers. */
  env: Record<string, string>;
  databaseUrl: string;
  startWorkers(): void;
  /** Stops the workers, so nothing runs in the background while a test watches the database. */
  stopWorkers(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Paperboy on real servers, isolated per test file: its own database on the shared PostgreSQL,
 * its own queue prefix on the shared Redis, its own SMTP sink.
 */
export interface HarnessOptions {
  env?: Record<string, string>;
  /** SMTP errors the sink answers for some recipients. */
  reject?: Faults['reject'];
  /** SMTP errors the sink answers at MAIL FROM (a relay refusing the sender). */
  refuseSender?: Faults['refuseSender'];
  /** SMTP errors the sink answers at the end of DATA (content refused). */
  refuseMessage?: Faults['refuseMessage'];
  /** Keep caught mail on disk too and serve it at /mailbox, as a local install does. */
  mailbox?: boolean;
}

export async function createHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const id = randomBytes(4).toString('hex');
  const database = await createScratchDatabase(inject('adminDatabaseUrl'), 'paperboy_test');
  const databaseUrl = database.url;

  const dataDir = mkdtempSync(path.join(tmpdir(), 'paperboy-data-'));
  const mailboxDir = opts.mailbox ? path.join(dataDir, 'mail') : undefined;
  const sink = await SmtpSink.start({
    reject: opts.reject,
    refuseSender: opts.refuseSender,
    refuseMessage: opts.refuseMessage,
    // Tests read what was caught from memory, whether or not it is on disk for /mailbox too.
    mailbox: mailboxDir,
  });
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: inject('redisUrl'),
    SMTP_URL: sink.url,
    QUEUE_PREFIX: `test_${id}`,
    TOKEN_SECRETS: TEST_SECRET,
    DATA_DIR: dataDir,
    PUBLIC_URL: 'http://paperboy.test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // Tests sign up many addresses from one IP; the rate-limit tests set their own limits.
    SIGNUP_LIMIT_PER_IP: '1000000',
    SIGNUP_LIMIT_PER_ADDRESS: '1000000',
    SIGNUP_LIMIT_GLOBAL: '1000000',
    // No test reaches the network: sources are ingested from files by the tests that need them.
    SOURCES: '',
    ...opts.env,
  };
  const config = loadConfig(env);
  const clock = new TestClock();
  const log = createLogger(config.logLevel);
  const services = composeServices(
    config,
    { databaseUrl, redisUrl: env.REDIS_URL as string, smtpUrl: sink.url, mailboxDir },
    log,
    clock,
  );
  await prepareDatabase(services);
  const app = await buildApp(services);
  let workers: { close(): Promise<void> } | undefined;

  return {
    config,
    services,
    app,
    sink,
    clock,
    env,
    databaseUrl,
    startWorkers() {
      workers ??= startWorkers(services);
    },
    async stopWorkers() {
      await workers?.close();
      workers = undefined;
    },
    async close() {
      await app.close();
      await workers?.close();
      if (services.queues.redis.status === 'ready') {
        for (const q of QUEUE_NAMES) {
          await services.queues
            .get(q)
            .obliterate({ force: true })
            .catch(() => {});
        }
      }
      await services.close();
      await sink.stop();
      rmSync(dataDir, { recursive: true, force: true });
      await database.drop();
    },
  };
}

export const parse = (m: CaughtMail): Promise<ParsedMail> => simpleParser(m.raw);

/**
 * Ingests Hugging Face daily-papers entries (`{ paper, numComments? }`, as its API lists them)
 * through the real source: written to `<name>.json` in the data directory, read as `hf`.
 */
export async function ingestHf(h: Harness, name: string, entries: readonly object[]) {
  const file = path.join(h.config.dataDir, `${name}.json`);
  writeFileSync(file, JSON.stringify(entries));
  return h.services.papers.ingest(file, 'hf');
}

/** The first link in a mail's plain-text part whose path starts with `prefix`. */
export function linkIn(mail: ParsedMail, prefix: string): string {
  const found = (mail.text ?? '').match(/https?:\/\/\S+/g)?.find((u) => new URL(u).pathname.startsWith(prefix));
  if (!found) throw new Error(`no ${prefix} link in mail "${mail.subject}"`);
  return found;
}

/** The path and query of a full URL, for `app.inject`. */
export const pathOf = (u: string) => {
  const url = new URL(u);
  return url.pathname + url.search;
};

/** A header's raw value as sent (unfolded), whatever mailparser makes of it. */
export function header(mail: ParsedMail, name: string): string | undefined {
  const line = mail.headerLines.find((h) => h.key === name.toLowerCase())?.line;
  return line
    ?.slice(line.indexOf(':') + 1)
    .replace(/\r?\n\s+/g, ' ')
    .trim();
}

/**
 * Polls `check` until it stops throwing: for effects that land just after the event a test saw.
 * It returns as soon as the check holds; the deadline only ends a wait for what never comes, and is
 * long enough for a busy machine.
 */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * Waits until a queue has no job waiting, delayed or running: whatever earlier work a test
 * started has finished, totals and rows included, not only the mail the sink already caught.
 */
export async function settled(h: Harness, queue: 'mail' | 'digest' | 'ingest', timeoutMs = 60_000): Promise<void> {
  await eventually(async () => {
    const counts = await h.services.queues.get(queue).getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    const busy = Object.values(counts).reduce((a, b) => a + b, 0);
    if (busy > 0) throw new Error(`${queue} queue still busy: ${JSON.stringify(counts)}`);
  }, timeoutMs);
}

/**
 * Signs an address up through the API and confirms it through the mailed link: the button on the
 * link's page, which POSTs to the link's own URL.
 */
export async function subscribeAndConfirm(h: Harness, email: string, prefs: object = {}): Promise<void> {
  const before = h.sink.to(email).length;
  const res = await h.app.inject({ method: 'POST', url: '/api/subscriptions', payload: { email, ...prefs } });
  if (res.statusCode !== 202) throw new Error(`signup failed: ${res.statusCode} ${res.body}`);
  const mail = await parse(await h.sink.waitFor((m) => m.to.includes(email) && h.sink.to(email).length > before));
  const confirmed = await h.app.inject({ method: 'POST', url: pathOf(linkIn(mail, '/confirm/')) });
  if (!confirmed.body.includes('You are subscribed')) throw new Error(`confirm failed: ${confirmed.body}`);
}

/** Runs the `paperboy` CLI as a user would, with the given environment. */
export function runCli(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/paperboy.mjs'), ...args], {
      env: cleanEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export { cleanEnv };
