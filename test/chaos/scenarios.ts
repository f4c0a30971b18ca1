import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createDb, type Db } from '../../services/core/db.ts';
import { migrate } from '../../services/core/migrate.ts';
import { ROOT } from '../../services/core/paths.ts';
import { createQueues } from '../../services/core/queues.ts';
import { freePort } from '../../services/local/ports.ts';
import { DIGEST_TICK } from '../../services/scheduler/index.ts';
import { cleanEnv, createScratchDatabase } from '../support/servers.ts';
import { REPLIES, temporaryFailures } from '../support/sink.ts';
import { type ChaosStack, type PaperboyProcess, startProcess } from './stack.ts';

/** One row of the results table. */
export interface ScenarioResult {
  scenario: string;
  injected: string;
  subscribers: number;
  /** Messages the SMTP server accepted. */
  accepted: number;
  /** Subscribers owed a digest who got none. */
  lost: number;
  /** Second copies, each explained by a crash between the SMTP 250 and the commit. */
  duplicates: number;
  /** Second copies that carried a different Message-ID: never acceptable. */
  duplicatesWithNewId: number;
  /** Send attempts beyond the first, over all deliveries. */
  retries: number;
  bounced: number;
  /** 5xx answers from the api (when the scenario runs one). */
  http5xx: number;
  seconds: number;
  notes: string;
}

export interface ScenarioOptions {
  subscribers: number;
  /** How long the SMTP server stays down in the outage scenario. */
  smtpDownMs: number;
}

const SECRET = `chaos-${'s'.repeat(40)}`;

/** A scenario's own database, queue prefix and settings on the shared servers. */
export async function prepare(stack: ChaosStack, name: string) {
  const database = await createScratchDatabase(stack.adminUrl, 'paperboy_chaos');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'paperboy-chaos-data-'));
  const env: Record<string, string> = {
    DATABASE_URL: database.url,
    REDIS_URL: stack.redisUrl,
    SMTP_URL: stack.sink.url,
    QUEUE_PREFIX: `chaos_${name}_${randomBytes(3).toString('hex')}`,
    TOKEN_SECRETS: SECRET,
    DATA_DIR: dataDir,
    PUBLIC_URL: 'https://paperboy.example',
    MAIL_FROM: 'Paperboy <digest@paperboy.example>',
    SOURCES: '',
    RANK_WINDOW_DAYS: '365',
    DIGEST_TICK_SECONDS: '1',
    SWEEP_EVERY_SECONDS: '5',
    SWEEP_AFTER_SECONDS: '4',
    DELIVERY_LEASE_SECONDS: '4',
    SEND_ATTEMPTS: '15',
    SEND_RETRY_BASE_SECONDS: '1',
    SEND_RETRY_FACTOR: '2',
    SEND_RETRY_MAX_SECONDS: '8',
    SHUTDOWN_TIMEOUT_SECONDS: '10',
    RELAY_PROBE_SECONDS: '2',
    SMTP_MAX_CONNECTIONS: '8',
    // Small batches: many jobs wait in Redis at any moment, so losing Redis loses real work.
    DIGEST_BATCH_SIZE: '25',
    LOG_LEVEL: process.env.CHAOS_LOG_LEVEL ?? 'error',
  };
  const db = createDb(database.url, { max: 4, onError: () => {} });
  await migrate(db);
  stack.sink.reset();
  return {
    env,
    db,
    async close() {
      await db.close();
      await database.drop().catch(() => {});
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The addresses addSubscribers gives its `n` readers. */
const readers = (n: number) => Array.from({ length: n }, (_, i) => `reader${i + 1}@example.org`);

async function addSubscribers(db: Db, n: number): Promise<string[]> {
  await db.query(
    `INSERT INTO subscribers (email, status, next_send_at, confirmed_at)
     SELECT 'reader' || i || '@example.org', 'active', now() - interval '1 minute', now()
       FROM generate_series(1, $1::int) i`,
    [n],
  );
  return readers(n);
}

export async function progress(db: Db) {
  const { rows } = await db.query<{ total: number; owed: number; sent: number }>(
    `SELECT count(*)::int AS total, count(*) FILTER (WHERE status IN ('queued', 'sending'))::int AS owed,
            count(*) FILTER (WHERE status = 'sent')::int AS sent
       FROM deliveries`,
  );
  return rows[0] as { total: number; owed: number; sent: number };
}

/** Waits until `share` of the subscribers have been sent their digest (failing if `worker` exits meanwhile). */
async function untilSent(db: Db, n: number, share: number, timeoutMs = 300_000, worker?: PaperboyProcess) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await progress(db).catch(() => ({ sent: 0 }))).sent >= n * share) return;
    if (worker && !worker.running) throw new Error('the worker process exited');
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`fewer than ${Math.round(n * share)} digests sent after ${timeoutMs / 1000} s`);
}

/** Waits until every subscriber has a delivery and none is owed any more, while `alive` holds. */
async function untilSettled(db: Db, n: number, timeoutMs: number, alive: () => boolean = () => true) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && alive()) {
    const p = await progress(db).catch(() => undefined);
    if (p && p.total >= n && p.owed === 0) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

interface RunContext {
  stack: ChaosStack;
  db: Db;
  env: Record<string, string>;
  n: number;
  /** The worker process (worker and scheduler roles); a fault may replace it. */
  worker: PaperboyProcess;
  /** More processes a fault starts; stopped with the worker at the end. */
  others: PaperboyProcess[];
  notes: string[];
}

/**
 * A digest run for `n` subscribers through a real worker process, with `fault` injected while
 * it runs; then the sink is counted against the database.
 */
async function deliveryRun(
  stack: ChaosStack,
  opts: {
    name: string;
    injected: string;
    n: number;
    before?: (ctx: Omit<RunContext, 'worker' | 'others'>) => Promise<void>;
    /** The roles of the first process (default: worker and scheduler). */
    roles?: string;
    /** Deliveries marked failed are the scenario's design (it notes them itself), not a fault. */
    failedByDesign?: boolean;
    fault: (ctx: RunContext) => Promise<void>;
    /** Addresses the scenario expects no digest for (refused by design). */
    exempt?: (recipients: string[]) => Set<string>;
    timeoutMs?: number;
  },
): Promise<ScenarioResult> {
  const s = await prepare(stack, opts.name);
  const notes: string[] = [];
  const t0 = performance.now();
  let ctx: RunContext | undefined;
  try {
    const recipients = await addSubscribers(s.db, opts.n);
    await opts.before?.({ stack, db: s.db, env: s.env, n: opts.n, notes });
    const worker = await startProcess({ ...workerEnv(s.env), ...(opts.roles ? { ROLES: opts.roles } : {}) });
    ctx = { stack, db: s.db, env: s.env, n: opts.n, notes, worker, others: [] };
    await opts.fault(ctx);
    // A worker that died (a crash, not a kill by the fault, which starts another) finishes nothing more.
    const alive = () => ctx?.worker.running ?? false;
    const settled = await untilSettled(s.db, opts.n, opts.timeoutMs ?? 300_000, alive);
    if (!settled) notes.push(alive() ? 'did not settle in time' : 'did not settle: the worker process exited');
    const seconds = (performance.now() - t0) / 1000;
    await Promise.all([ctx.worker, ...ctx.others].map((p) => p.kill('SIGTERM')));
    const exempt = opts.exempt?.(recipients) ?? new Set<string>();
    const tally = stack.sink.tally(recipients.filter((r) => !exempt.has(r)));
    const { rows } = await s.db.query<{ retries: number; bounced: number; failed: number }>(
      // Sends tried again: after a failure of the message, or of the relay (not counted in attempts).
      `SELECT coalesce(sum(greatest(attempts - 1, 0) + relay_failures), 0)::int AS retries,
              count(*) FILTER (WHERE status = 'bounced')::int AS bounced,
              count(*) FILTER (WHERE status = 'failed')::int AS failed
         FROM deliveries`,
    );
    const d = rows[0] as { retries: number; bounced: number; failed: number };
    if (d.failed && !opts.failedByDesign) notes.push(`${d.failed} marked failed`);
    return {
      scenario: opts.name,
      injected: opts.injected,
      subscribers: opts.n,
      accepted: tally.accepted,
      lost: tally.missing,
      duplicates: tally.duplicates,
      duplicatesWithNewId: tally.duplicatesWithNewId,
      retries: d.retries,
      bounced: d.bounced,
      http5xx: 0,
      seconds: +seconds.toFixed(1),
      notes: notes.join('; '),
    };
  } finally {
    for (const p of ctx ? [ctx.worker, ...ctx.others] : []) if (p.running) await p.kill('SIGKILL');
    await s.close();
  }
}

/**
 * While the relay refuses (the sink says how), for `ms`: nobody may be marked bounced, suppressed
 * or failed, and the breaker must keep the relay from being tried message after message. Then the
 * relay is fixed and the run must finish by itself.
 */
async function whileRelayRefuses(ctx: RunContext, ms: number, fix: () => void) {
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const { rows } = await ctx.db.query<{ bounced: number; suppressed: number; failed: number; owed: number }>(
    `SELECT (SELECT count(*) FROM subscribers WHERE status = 'bounced')::int AS bounced,
            (SELECT count(*) FROM suppressions)::int AS suppressed,
            (SELECT count(*) FROM deliveries WHERE status = 'failed')::int AS failed,
            (SELECT count(*) FROM deliveries WHERE status IN ('queued', 'sending'))::int AS owed`,
  );
  const r = rows[0] as { bounced: number; suppressed: number; failed: number; owed: number };
  const seconds = (performance.now() - t0) / 1000;
  ctx.notes.push(
    `while refusing (${seconds.toFixed(0)} s): ${ctx.stack.sink.refused.login + ctx.stack.sink.refused.sender} commands refused, ` +
      `${r.owed} digests owed, ${r.bounced} bounced, ${r.suppressed} suppressed, ${r.failed} failed; then fixed`,
  );
  fix();
}

/**
 * Signups to an api process, one after another while a fault goes on and, once `end` says it is
 * over, until one is accepted again (a minute at most): the answers seen, the 5xx other than the
 * designed 503, and whether the api took signups again without a restart.
 */
function signupProbe(port: number, label: string, pauseMs: number) {
  const seen = new Map<number, number>();
  let faultOver = false;
  let recovered = false;
  let http5xx = 0;
  const done = (async () => {
    let deadline = Number.POSITIVE_INFINITY;
    while (!recovered && Date.now() < deadline) {
      const after = faultOver;
      if (after) deadline = Math.min(deadline, Date.now() + 60_000);
      const res = await fetch(`http://127.0.0.1:${port}/api/subscriptions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `${label}-${Date.now()}-${Math.random()}@example.org` }),
      }).catch(() => undefined);
      if (res) {
        await res.arrayBuffer();
        seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
        if (res.status >= 500 && res.status !== 503) http5xx++;
        if (after && res.status === 202) recovered = true;
      }
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  })();
  return {
    /** The fault is over: resolves once the api has taken a signup again, or a minute has passed. */
    async end() {
      faultOver = true;
      await done;
      const answers = [...seen]
        .sort(([x], [y]) => x - y)
        .map(([k, c]) => `${c} × ${k}`)
        .join(', ');
      return {
        http5xx,
        note: recovered
          ? `signups meanwhile: ${answers}; api answered 202 again without a restart`
          : `api did not recover (${answers})`,
      };
    },
  };
}

/** Runs the `paperboy` CLI with a scenario's settings; resolves with its exit code and output. */
function paperboy(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/paperboy.mjs'), ...args], {
      env: cleanEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** An IANA zone (Etc/GMT±N) where the local time is now between midnight and 1 am. */
function zoneJustPastMidnight(now: Date): { zone: string; offsetHours: number } {
  let k = (24 - now.getUTCHours()) % 24;
  if (k > 14) k -= 24;
  // Etc/GMT signs are inverted: Etc/GMT-8 is UTC+8.
  return { zone: k === 0 ? 'Etc/UTC' : `Etc/GMT${k > 0 ? '-' : '+'}${Math.abs(k)}`, offsetHours: k };
}

export const workerEnv = (env: Record<string, string>) => ({ ...env, ROLES: 'worker,scheduler', PORT: '0' });

export const scenarios: Record<string, (stack: ChaosStack, o: ScenarioOptions) => Promise<ScenarioResult>> = {
  baseline: (stack, o) =>
    deliveryRun(stack, { name: 'baseline', injected: 'nothing', n: o.subscribers, fault: async () => {} }),

  'worker-killed': (stack, o) =>
    deliveryRun(stack, {
      name: 'worker-killed',
      injected: 'SIGKILL to the worker 5 times at random moments, restarted each time',
      n: o.subscribers,
      fault: async (ctx) => {
        const marks = Array.from({ length: 5 }, (_, i) => 0.1 + i * 0.16 + Math.random() * 0.08);
        for (const mark of marks) {
          await untilSent(ctx.db, ctx.n, mark);
          await ctx.worker.kill('SIGKILL');
          ctx.worker = await startProcess(workerEnv(ctx.env));
        }
      },
    }),

  'smtp-temporary-failures': (stack, o) =>
    deliveryRun(stack, {
      name: 'smtp-temporary-failures',
      injected: '421 or 451 for a random 20% of SMTP transactions',
      n: o.subscribers,
      before: async () => {
        stack.sink.refuseSender = temporaryFailures(0.2);
      },
      fault: async () => {},
    }),

  'smtp-permanent-failures': (stack, o) => {
    const refused = (recipients: string[]) => new Set(recipients.filter((_, i) => i % 100 === 7));
    let gone = new Set<string>();
    return deliveryRun(stack, {
      name: 'smtp-permanent-failures',
      injected: '550 for 1% of the addresses',
      n: o.subscribers,
      exempt: refused,
      before: async (ctx) => {
        gone = refused(readers(ctx.n));
        stack.sink.reject = (to) => (gone.has(to) ? REPLIES.noSuchUser : undefined);
      },
      fault: async (ctx) => {
        await untilSettled(ctx.db, ctx.n, 300_000);
        // Bounced: marked, suppressed, tried once, and never planned again.
        const { rows } = await ctx.db.query<{ bounced: number; suppressed: number; retried: number; due: number }>(
          `SELECT (SELECT count(*) FROM subscribers WHERE status = 'bounced')::int AS bounced,
                  (SELECT count(*) FROM suppressions WHERE reason = 'bounced')::int AS suppressed,
                  (SELECT count(*) FROM deliveries WHERE status = 'bounced' AND attempts > 1)::int AS retried,
                  (SELECT count(*) FROM subscribers WHERE status = 'bounced' AND next_send_at IS NOT NULL)::int AS due`,
        );
        const r = rows[0] as { bounced: number; suppressed: number; retried: number; due: number };
        const accepted = stack.sink.accepted.filter((a) => gone.has(a.to)).length;
        ctx.notes.push(
          `${gone.size} refused addresses: ${r.bounced} marked bounced, ${r.suppressed} suppressed, ${r.retried} retried, ${r.due} still scheduled, ${accepted} messages accepted for them`,
        );
      },
    });
  },

  'smtp-down': (stack, o) =>
    deliveryRun(stack, {
      name: 'smtp-down',
      injected: `SMTP server down for ${o.smtpDownMs / 1000} s mid-run`,
      n: o.subscribers,
      fault: async (ctx) => {
        await untilSent(ctx.db, ctx.n, 0.3);
        await stack.sink.halt();
        await new Promise((r) => setTimeout(r, o.smtpDownMs));
        await stack.sink.resume();
      },
    }),

  'redis-restarted-empty': (stack, o) =>
    deliveryRun(stack, {
      name: 'redis-restarted-empty',
      injected: 'redis-server killed mid-run and started again empty',
      n: o.subscribers,
      fault: async (ctx) => {
        await untilSent(ctx.db, ctx.n, 0.3);
        const { rows } = await ctx.db.query<{ owed: number }>(
          "SELECT count(*)::int AS owed FROM deliveries WHERE status IN ('queued', 'sending')",
        );
        await stack.restartRedisEmpty(1000);
        const t = performance.now();
        const queues = createQueues(stack.redisUrl, ctx.env.QUEUE_PREFIX as string);
        try {
          while (
            !(await queues
              .get('digest')
              .getJobScheduler(DIGEST_TICK)
              .catch(() => undefined))
          ) {
            if (performance.now() - t > 60_000) break;
            await new Promise((r) => setTimeout(r, 200));
          }
        } finally {
          await queues.close();
        }
        ctx.notes.push(
          `${rows[0]?.owed ?? 0} deliveries owed when Redis died; schedules back after ${((performance.now() - t) / 1000).toFixed(1)} s`,
        );
      },
    }),

  'postgres-restarted': async (stack, o) => {
    let api: PaperboyProcess | undefined;
    // 503 with Retry-After while PostgreSQL is away is the designed answer; any other 5xx is not.
    let http5xx = 0;
    const result = await deliveryRun(stack, {
      name: 'postgres-restarted',
      injected: 'PostgreSQL stopped mid-run and started again 2 s later',
      n: o.subscribers,
      fault: async (ctx) => {
        const port = await freePort();
        api = await startProcess({
          ...ctx.env,
          ROLES: 'api',
          PORT: String(port),
          HOST: '127.0.0.1',
          SIGNUP_LIMIT_PER_IP: '100000',
          SIGNUP_LIMIT_GLOBAL: '100000',
        });
        await untilSent(ctx.db, ctx.n, 0.3);
        // Signups keep arriving while PostgreSQL is down and after it is back; the api and the
        // worker keep their processes.
        const probe = signupProbe(port, 'during-restart', 100);
        try {
          await stack.restartPostgres(2000);
        } finally {
          const signups = await probe.end();
          http5xx += signups.http5xx;
          ctx.notes.push(signups.note);
        }
      },
    });
    await api?.kill('SIGTERM');
    return { ...result, http5xx };
  },

  'postgres-backends-terminated': async (stack, o) => {
    let api: PaperboyProcess | undefined;
    let port = 0;
    let admin: pg.Client | undefined;
    // 503 with Retry-After for a request whose connection was cut is the designed answer; any other 5xx is not.
    let http5xx = 0;
    const TERMINATE = `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n
                         FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`;
    let result: ScenarioResult;
    try {
      result = await deliveryRun(stack, {
        name: 'postgres-backends-terminated',
        injected:
          'every backend of the database terminated 4 times: inside the first planning transaction, then at 25, 50 and 75% sent',
        n: o.subscribers,
        before: async (ctx) => {
          port = await freePort();
          api = await startProcess({
            ...ctx.env,
            ROLES: 'api',
            PORT: String(port),
            HOST: '127.0.0.1',
            // The probe signs up every 100 ms for as long as the run lasts: no limit may answer it.
            SIGNUP_LIMIT_PER_IP: '100000',
            SIGNUP_LIMIT_GLOBAL: '100000',
          });
          admin = new pg.Client({ connectionString: ctx.env.DATABASE_URL, application_name: 'chaos-admin' });
          admin.on('error', () => {});
          await admin.connect();
          // The worker's first planning transaction waits on this lock when it writes the papers of
          // its first batch's digests: terminated there, its connection dies inside a transaction.
          await admin.query('BEGIN');
          await admin.query('LOCK TABLE delivery_papers IN SHARE MODE');
        },
        fault: async (ctx) => {
          const held = admin as pg.Client;
          // Signups keep arriving throughout and after; the api and the worker keep their processes.
          const probe = signupProbe(port, 'during-terminate', 20);
          let signups = { http5xx: 0, note: '' };
          const terminated: number[] = [];
          const terminate = async () => terminated.push((await held.query<{ n: number }>(TERMINATE)).rows[0]?.n ?? 0);
          try {
            const deadline = Date.now() + 120_000;
            let waiting = 0;
            while (!waiting && Date.now() < deadline) {
              // This connection is inside the transaction that holds the lock, and PostgreSQL keeps
              // the first pg_stat_activity it reads in a transaction until the transaction ends:
              // without clearing it, a worker that starts waiting after the first look is never seen.
              await held.query('SELECT pg_stat_clear_snapshot()');
              const { rows } = await held.query<{ n: number }>(
                `SELECT count(*)::int AS n FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'`,
              );
              waiting = rows[0]?.n ?? 0;
              if (!waiting) await new Promise((r) => setTimeout(r, 20));
            }
            ctx.notes.push(waiting ? 'first planning transaction cut' : 'no planning transaction caught');
            await terminate();
            await held.query('ROLLBACK');
            for (const mark of [0.25, 0.5, 0.75]) {
              await untilSent(ctx.db, ctx.n, mark, 300_000, ctx.worker);
              await terminate();
            }
          } finally {
            signups = await probe.end();
          }
          ctx.notes.push(`backends terminated each time: ${terminated.join(', ')}`);
          ctx.notes.push(
            ctx.worker.running && api?.running ? 'worker and api kept running' : 'a Paperboy process exited',
          );
          http5xx += signups.http5xx;
          ctx.notes.push(signups.note);
        },
      });
    } finally {
      await api?.kill('SIGTERM');
      await admin?.end().catch(() => {});
    }
    return { ...result, http5xx };
  },

  'worker-sigterm': (stack, o) =>
    deliveryRun(stack, {
      name: 'worker-sigterm',
      injected: 'SIGTERM to the worker mid-run (bound 10 s), a new worker started after',
      n: o.subscribers,
      fault: async (ctx) => {
        await untilSent(ctx.db, ctx.n, 0.3);
        const ms = await ctx.worker.kill('SIGTERM');
        const { rows } = await ctx.db.query<{ sending: number }>(
          "SELECT count(*)::int AS sending FROM deliveries WHERE status = 'sending'",
        );
        ctx.notes.push(`stopped in ${(ms / 1000).toFixed(1)} s, ${rows[0]?.sending ?? 0} left in sending`);
        ctx.worker = await startProcess(workerEnv(ctx.env));
      },
    }),

  'relay-refuses-sender': (stack, o) =>
    deliveryRun(stack, {
      name: 'relay-refuses-sender',
      injected: '553 5.7.1 to every MAIL FROM for 20 s (a sender the relay does not take), then fixed',
      n: o.subscribers,
      before: async () => {
        stack.sink.refuseSender = () => ({ code: 553, message: '5.7.1 Sender address rejected: not owned by user' });
      },
      fault: (ctx) =>
        whileRelayRefuses(ctx, 20_000, () => {
          stack.sink.refuseSender = undefined;
        }),
    }),

  'relay-refuses-login': (stack, o) =>
    deliveryRun(stack, {
      name: 'relay-refuses-login',
      injected: '535 5.7.8 to every AUTH for 20 s (credentials rotated at the provider), then fixed',
      n: o.subscribers,
      before: async (ctx) => {
        ctx.env.SMTP_URL = stack.sink.url.replace('smtp://', 'smtp://paperboy:secret@');
        stack.sink.refuseLogin = () => ({ code: 535, message: '5.7.8 Authentication credentials invalid' });
      },
      fault: (ctx) =>
        whileRelayRefuses(ctx, 20_000, () => {
          stack.sink.refuseLogin = undefined;
        }),
    }),

  'content-refused': (stack, o) => {
    const refused = (recipients: string[]) => new Set(recipients.filter((_, i) => i % 100 === 3));
    let rejected = new Set<string>();
    return deliveryRun(stack, {
      name: 'content-refused',
      injected: '554 5.7.1 at the end of DATA for the messages to 1% of the addresses (content rejected)',
      n: o.subscribers,
      exempt: refused,
      failedByDesign: true,
      before: async (ctx) => {
        rejected = refused(readers(ctx.n));
        stack.sink.refuseMessage = (to) => (to.some((r) => rejected.has(r)) ? REPLIES.contentRejected : undefined);
      },
      fault: async (ctx) => {
        await untilSettled(ctx.db, ctx.n, 300_000);
        const { rows } = await ctx.db.query<{ failed: number; active: number; scheduled: number; suppressed: number }>(
          `SELECT count(*) FILTER (WHERE d.status = 'failed' AND d.smtp_response LIKE '554 5.7.1%')::int AS failed,
                  count(*) FILTER (WHERE d.status = 'failed' AND s.status = 'active')::int AS active,
                  count(*) FILTER (WHERE d.status = 'failed' AND s.next_send_at > now())::int AS scheduled,
                  (SELECT count(*) FROM suppressions)::int AS suppressed
             FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id`,
        );
        const r = rows[0] as { failed: number; active: number; scheduled: number; suppressed: number };
        ctx.notes.push(
          `${rejected.size} messages refused: ${r.failed} failed with the reply kept, ` +
            `${r.active} readers still active, ${r.scheduled} with their next digest scheduled, ${r.suppressed} suppressed`,
        );
      },
    });
  },

  'late-planning-midnight': (stack, o) => {
    let zone = '';
    return deliveryRun(stack, {
      name: 'late-planning-midnight',
      injected:
        'digests due at 23:00 local planned 1–2 hours late, after local midnight; then the next evening planned on time',
      n: o.subscribers,
      before: async (ctx) => {
        zone = zoneJustPastMidnight(new Date()).zone;
        await ctx.db.query(
          `UPDATE subscribers SET timezone = $1, send_hour = 23,
                  next_send_at = (((now() AT TIME ZONE $1)::date - 1) + time '23:00') AT TIME ZONE $1`,
          [zone],
        );
      },
      fault: async (ctx) => {
        // The first evening: planned after midnight, filed under that evening's day.
        if (!(await untilSettled(ctx.db, ctx.n, 300_000))) return;
        const days = async () =>
          (
            await ctx.db.query<{ day: string; n: number }>(
              `SELECT d.digest_date::text AS day, count(*)::int AS n FROM deliveries d
                WHERE d.status = 'sent' GROUP BY 1 ORDER BY 1`,
            )
          ).rows;
        const { rows } = await ctx.db.query<{ yesterday: string; next: string; onTime: number }>(
          `SELECT ((now() AT TIME ZONE $1)::date - 1)::text AS yesterday,
                  min(next_send_at)::text AS next,
                  count(*) FILTER (WHERE next_send_at = (((now() AT TIME ZONE $1)::date) + time '23:00') AT TIME ZONE $1)::int AS "onTime"
             FROM subscribers`,
          [zone],
        );
        const r = rows[0] as { yesterday: string; next: string; onTime: number };
        const first = await days();
        const firstTally = stack.sink.tally(readers(ctx.n));
        const rightDay = first.length === 1 && first[0]?.day === r.yesterday && first[0]?.n === ctx.n;
        // The next evening, planned on time: a day of its own, sent too. What the sink counts
        // from here is that evening's digests.
        stack.sink.accepted = [];
        const at = new Date(new Date(r.next).getTime() + 60_000).toISOString();
        const run = await paperboy(['digest', 'run', '--at', at], ctx.env);
        const second = (await days()).filter((d) => d.day !== r.yesterday);
        ctx.notes.push(
          `${zone}: first evening ${firstTally.accepted} sent (${firstTally.missing} missing), filed under ${first.map((d) => `${d.day} × ${d.n}`).join(', ')} ` +
            `(local yesterday ${r.yesterday}: ${rightDay ? 'right' : 'WRONG, did not recover'}); next evening ${r.onTime}/${ctx.n} scheduled on time, ` +
            `digest run --at ${at} exit ${run.code}, filed under ${second.map((d) => `${d.day} × ${d.n}`).join(', ') || 'nothing'}`,
        );
      },
    });
  },

  'scaled-out': (stack, o) =>
    deliveryRun(stack, {
      name: 'scaled-out',
      injected:
        '3 worker and 2 scheduler processes on one PostgreSQL and Redis; SIGKILL to one worker and one scheduler mid-run',
      n: o.subscribers,
      roles: 'worker',
      fault: async (ctx) => {
        const start = (roles: string) => startProcess({ ...workerEnv(ctx.env), ROLES: roles });
        const [worker2, worker3, scheduler1, scheduler2] = await Promise.all([
          start('worker'),
          start('worker'),
          start('scheduler'),
          start('scheduler'),
        ]);
        ctx.others.push(worker2, worker3, scheduler1, scheduler2);
        await untilSent(ctx.db, ctx.n, 0.3);
        await worker2.kill('SIGKILL');
        await scheduler1.kill('SIGKILL');
        ctx.notes.push('killed 1 of 3 workers and 1 of 2 schedulers at 30% sent; the others finished the run');
      },
    }),
};
