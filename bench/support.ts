import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { composeServices, type Services } from '../services/compose.ts';
import { type Clock, systemClock } from '../services/core/clock.ts';
import { loadConfig } from '../services/core/config.ts';
import { createLogger } from '../services/core/logger.ts';
import { ROOT } from '../services/core/paths.ts';
import { createPersonalPlanning } from '../services/digests/personal.ts';
import { freePort } from '../services/local/ports.ts';
import { prepareDatabase } from '../services/main.ts';
import { createPaperRepository } from '../services/papers/repository.ts';
import { createScratchDatabase, startScratchServers } from '../test/support/servers.ts';
import { SmtpSink } from '../test/support/sink.ts';

export { explainNested } from '../test/support/servers.ts';

/**
 * Real servers for a benchmark: BENCH_DATABASE_URL / BENCH_REDIS_URL when set, otherwise a
 * throwaway embedded PostgreSQL and a redis-server child, as the tests use. Each run gets a fresh
 * database and queue prefix. `clock` is the services' clock (the system's by default); with
 * `keepMail`, the sink is the tests' and keeps every message (`caught`), for a benchmark that reads
 * its mail.
 */
export async function benchServices(
  env: Record<string, string> = {},
  options: { clock?: Clock; keepMail?: boolean } = {},
) {
  const log = createLogger(process.env.LOG_LEVEL ?? 'warn', 'bench');
  const servers = await startScratchServers(
    { databaseUrl: process.env.BENCH_DATABASE_URL, redisUrl: process.env.BENCH_REDIS_URL },
    log,
  );
  const caught = options.keepMail ? await SmtpSink.start({ keepMessages: true }) : undefined;
  const sink: Sink = caught
    ? { url: caught.url, port: caught.port, kind: 'test SMTP sink (keeping)', stop: () => caught.stop() }
    : await startSink();
  const database = await createScratchDatabase(servers.adminUrl, 'paperboy_bench');
  const { redisUrl } = servers;
  const url = new URL(database.url);
  const id = database.name.split('_').at(-1);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'paperboy-bench-'));
  const settings: Record<string, string> = {
    DATABASE_URL: url.toString(),
    REDIS_URL: redisUrl,
    SMTP_URL: sink.url,
    QUEUE_PREFIX: `bench_${id}`,
    TOKEN_SECRETS: 'bench-secret-'.padEnd(48, 'x'),
    DATA_DIR: dir,
    PUBLIC_URL: 'https://paperboy.example',
    MAIL_FROM: 'Paperboy <digest@paperboy.example>',
    SOURCES: '',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    ...env,
  };
  const config = loadConfig(settings);
  const services = composeServices(
    config,
    { databaseUrl: url.toString(), redisUrl, smtpUrl: sink.url },
    log,
    options.clock ?? systemClock,
  );
  await prepareDatabase(services);
  return {
    services,
    config,
    /** The messages caught, with `keepMail`. */
    caught,
    /** The settings behind `config`, for starting Paperboy processes on the same servers. */
    settings,
    sink,
    redisUrl,
    async close() {
      await services.close();
      await database.drop();
      await sink.stop();
      await servers.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type BenchServices = Services;

export interface Sink {
  url: string;
  port: number;
  kind: string;
  stop(): Promise<void>;
}

/**
 * An SMTP server that accepts and discards: Postfix's smtp-sink when installed (a C server, so it
 * measures Paperboy rather than the sink), else the tests' sink, keeping no messages.
 */
export async function startSink(): Promise<Sink> {
  const port = await freePort();
  if (existsSync('/usr/sbin/smtp-sink')) {
    const child: ChildProcess = spawn('/usr/sbin/smtp-sink', ['-u', 'nobody', `127.0.0.1:${port}`, '1024'], {
      stdio: 'ignore',
    });
    await new Promise((r) => setTimeout(r, 300));
    return {
      url: `smtp://127.0.0.1:${port}`,
      port,
      kind: 'postfix smtp-sink',
      stop: async () => {
        child.kill('SIGTERM');
      },
    };
  }
  const sink = await SmtpSink.start({ port, keepMessages: false });
  return { url: sink.url, port, kind: 'test SMTP sink (discarding)', stop: () => sink.stop() };
}

/** Pumps prebuilt messages straight into the sink with Postfix's smtp-source: the raw SMTP limit. */
export function rawSmtpLimit(sink: Sink, messages: number, bytes: number, sessions: number): number | undefined {
  if (!existsSync('/usr/sbin/smtp-source')) return undefined;
  const t0 = performance.now();
  execFileSync('/usr/sbin/smtp-source', [
    '-s',
    String(sessions),
    '-m',
    String(messages),
    '-l',
    String(bytes),
    '-t',
    'reader@example.org',
    `127.0.0.1:${sink.port}`,
  ]);
  return messages / ((performance.now() - t0) / 1000);
}

/**
 * CPU seconds used so far by each part of the set-up (Linux /proc): `roles` names processes by
 * pid, and PostgreSQL, Redis and the sink are found by their command lines. Two snapshots taken
 * around a phase tell where its time went.
 */
export function cpuSeconds(roles: Record<string, number>): Record<string, number> {
  const tick = 100; // USER_HZ, 100 on every Linux
  const byPid = new Map(Object.entries(roles).map(([name, pid]) => [pid, name]));
  const out: Record<string, number> = {};
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'latin1');
      const name =
        byPid.get(Number(entry)) ??
        (cmd.startsWith('postgres') || cmd.includes('/postgres\0')
          ? 'postgres'
          : cmd.includes('redis-server')
            ? 'redis'
            : cmd.includes('smtp-sink')
              ? 'sink'
              : undefined);
      if (!name) continue;
      const fields = readFileSync(`/proc/${entry}/stat`, 'latin1').split(') ')[1]?.split(' ') ?? [];
      out[name] = (out[name] ?? 0) + (Number(fields[11]) + Number(fields[12])) / tick;
    } catch {
      // the process ended between listing and reading
    }
  }
  return out;
}

/** What each part used between two `cpuSeconds` snapshots, in seconds. */
export const cpuBetween = (before: Record<string, number>, after: Record<string, number>) =>
  Object.fromEntries(Object.entries(after).map(([k, v]) => [k, +(v - (before[k] ?? 0)).toFixed(1)]));

/** Jiffies the whole machine has spent busy and in total so far (Linux /proc/stat). */
export function machineTime(): { busy: number; total: number } {
  const [, ...fields] = readFileSync('/proc/stat', 'latin1').split('\n')[0]?.trim().split(/\s+/) ?? [];
  const [user, nice, system, idle, iowait, irq, softirq, steal] = fields.map(Number);
  const busy = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
  return { busy, total: busy + (idle ?? 0) + (iowait ?? 0) };
}

/** The share of all cores busy between two `machineTime` snapshots, interrupts included. */
export const busyBetween = (a: ReturnType<typeof machineTime>, b: ReturnType<typeof machineTime>) =>
  +((b.busy - a.busy) / Math.max(1, b.total - a.total)).toFixed(2);

export const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

export function machine() {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    date: new Date().toISOString(),
  };
}

/** Writes a result file under bench/results and returns its path. */
export function saveResult(name: string, result: object): string {
  const dir = path.join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify({ machine: machine(), ...result }, null, 2)}\n`);
  return file;
}

export function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Time zones the synthetic subscribers live in. */
export const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'Asia/Kolkata', 'America/Los_Angeles'];

/** Topics the synthetic papers and subscribers share, as real readers share interests. */
export const TOPICS = [
  'lora',
  'diffusion',
  'robotics',
  'reinforcement learning',
  'retrieval',
  'quantization',
  'agents',
  'vision transformer',
  'speech',
  'reasoning',
  'benchmark',
  'multimodal',
];

/** `n` papers about the topics, with upvotes, stars and comments, news within the last `days` days. */
export async function insertPapers(db: Services['db'], n: number, days: number) {
  await db.query(
    `INSERT INTO papers (title_key, title, abstract, arxiv_id, sources, fresh_at, upvotes, github_stars, comments, keywords)
     SELECT 'bench ' || i,
            initcap(($1::text[])[1 + i % 12]) || ' at scale: study ' || i,
            'We study ' || ($1::text[])[1 + i % 12] || ' and ' || ($1::text[])[1 + (i * 7) % 12] || ' with extensive experiments. ' || repeat('Results improve on strong baselines. ', 6),
            '2611.' || lpad(i::text, 6, '0'), '{hf}', now() - (i % $3::int) * interval '1 day',
            (i * 37) % 500, (i * 13) % 2000, i % 17, ARRAY[($1::text[])[1 + i % 12]]
       FROM generate_series(1, $2::int) AS i`,
    [TOPICS, n, days],
  );
}

/** Statistics for the tables a set-up filled (papers, subscribers), as autovacuum would keep them live. */
export async function analyzeSetUp(db: Services['db']) {
  await db.query('ANALYZE papers, subscribers');
}

/** `n` active subscribers due at `due`: a third without topics, the rest with two. */
export async function insertSubscribers(db: Services['db'], n: number, due: Date, zones = ['UTC']) {
  await db.query(
    `INSERT INTO subscribers (email, status, timezone, topics, next_send_at, confirmed_at)
     SELECT 'reader' || i || '@example.org', 'active', ($1::text[])[1 + i % cardinality($1::text[])],
            CASE WHEN i % 3 = 0 THEN '{}'::text[]
                 ELSE ARRAY[($2::text[])[1 + i % 12], ($2::text[])[1 + (i * 5) % 12]] END,
            $3::timestamptz, $3::timestamptz
       FROM generate_series(1, $4::int) AS i`,
    [zones, TOPICS, due, n],
  );
}

/** How many distinct voters there are: voters of the same profile have the same topics and votes. */
const VOTER_PROFILES = 60;

/**
 * Makes a share of the subscribers readers who voted: each was sent one digest three days before
 * `at` (10 papers) and voted on all of it, "more" on the 6 of their first topic and "less" on the 4
 * of another, a second apart. Subscriber i is a voter when i mod 1000 < share × 1000; voters with
 * the same i mod 60 have the same topics and votes (a profile). The votes are also kept aside in
 * `bench_votes`, so a run can take them away (`withVotes(db, false)`) and give them back. Returns
 * how many voters there are. Papers are those of insertPapers (paper i is about topic i mod 12).
 */
export async function insertVoters(db: Services['db'], share: number, at: Date): Promise<number> {
  const papers = (
    await db.query<{ n: number; first: string }>('SELECT count(*)::int AS n, min(id) AS first FROM papers')
  ).rows[0] as { n: number; first: string };
  const perTopic = Math.floor(papers.n / 12);
  await db.query(
    `CREATE TABLE bench_voters AS
       SELECT id, id % ${VOTER_PROFILES} AS profile FROM subscribers WHERE id % 1000 < $1::float8 * 1000`,
    [share],
  );
  await db.query(
    `INSERT INTO deliveries (subscriber_id, digest_date, status, paper_count, due_at, planned_at, sent_at)
     SELECT id, ($1::timestamptz - interval '3 days')::date, 'sent', 10,
            $1::timestamptz - interval '3 days', $1::timestamptz - interval '3 days', $1::timestamptz - interval '3 days'
       FROM bench_voters`,
    [at],
  );
  // Paper first − 1 + 12·j + t is about topic t (insertPapers' paper n is about topic n mod 12):
  // "more" on topic i mod 12 (the first of subscriber i's two), "less" on topic (i + 3) mod 12.
  await db.query(
    `CREATE TABLE bench_votes AS
       SELECT d.id AS delivery_id, v.id AS subscriber_id, k AS position,
              $2::bigint - 1 + 12 * (1 + (v.profile * 7 + k * 13) % ($3::int - 1))
                + CASE WHEN k <= 6 THEN v.id % 12 ELSE (v.id + 3) % 12 END AS paper_id,
              CASE WHEN k <= 6 THEN 1 ELSE -1 END AS value,
              $1::timestamptz - interval '3 days' + k * interval '1 second' AS voted_at
         FROM bench_voters v JOIN deliveries d ON d.subscriber_id = v.id
        CROSS JOIN generate_series(1, 10) AS k`,
    [at, papers.first, perTopic],
  );
  await db.query(
    `INSERT INTO delivery_papers (delivery_id, subscriber_id, paper_id, position, reason)
     SELECT delivery_id, subscriber_id, paper_id, position, 'bench' FROM bench_votes`,
  );
  await withVotes(db, true);
  return (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM bench_voters')).rows[0]?.n ?? 0;
}

/** Gives the voters their votes back, or takes them away (they are then readers who taught nothing). */
export async function withVotes(db: Services['db'], on: boolean): Promise<void> {
  await db.query('DELETE FROM paper_votes');
  if (on)
    await db.query(
      'INSERT INTO paper_votes (subscriber_id, paper_id, value, voted_at) SELECT subscriber_id, paper_id, value, voted_at FROM bench_votes',
    );
  await db.query('VACUUM ANALYZE paper_votes');
}

/**
 * Trains the voters' models as the planner's personal path does when it first meets them, for one
 * voter of each profile, and gives every other voter their profile's model (the same topics and
 * votes train the same model), with the basis the planner checks. Returns the CPU milliseconds of
 * this process per trained reader (their votes read, the model trained and stored, their digest
 * picked; the run's window built before, not counted).
 */
export async function trainVoters(db: Services['db'], since: Date): Promise<number> {
  const { rows } = await db.query<{ id: string }>('SELECT min(id) AS id FROM bench_voters GROUP BY profile ORDER BY 1');
  const ids = rows.map((r) => Number(r.id));
  // The first builds the run's window (once per planning run); the others are timed.
  const planning = createPersonalPlanning();
  const runId = randomUUID();
  await planning.pick(db, ids.slice(0, 1), { since, runId });
  const start = process.cpuUsage();
  await planning.pick(db, ids.slice(1), { since, runId });
  const used = process.cpuUsage(start);
  planning.forget(runId);
  await db.query(
    `INSERT INTO reader_models (subscriber_id, model, basis, trained_at)
     SELECT v.id, m.model, m.basis, now()
       FROM bench_voters v
       JOIN (SELECT profile, min(id) AS id FROM bench_voters GROUP BY profile) p ON p.profile = v.profile
       JOIN reader_models m ON m.subscriber_id = p.id
      WHERE v.id <> p.id`,
  );
  await db.query('VACUUM ANALYZE reader_models');
  return (used.user + used.system) / 1000 / Math.max(ids.length - 1, 1);
}

/**
 * What the planner's personal path costs per reader with a model, apart from the rest of planning:
 * `batches` batches of 200 voters picked as a planning run picks them (the run's window built and
 * its ranked lists remembered first, not counted; models up to date, so nothing is trained).
 * CPU of this process and wall time per reader, and the statements per batch.
 */
export async function personalCost(db: Services['db'], since: Date, batches: number) {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM bench_voters ORDER BY id LIMIT $1', [
    (batches + 1) * 200,
  ]);
  const ids = rows.map((r) => Number(r.id));
  const planning = createPersonalPlanning();
  const papers = createPaperRepository(db);
  const runId = randomUUID();
  let statements = 0;
  const counting = {
    query: ((text: string, params?: unknown[]) => {
      statements++;
      return db.query(text, params);
    }) as Services['db']['query'],
  };
  try {
    await papers.rememberRankedLists(runId, ids, since);
    await planning.pick(db, ids.slice(0, 200), { since, runId, dryRun: true });
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    let readers = 0;
    for (let b = 1; b <= batches; b++) {
      const batch = ids.slice(b * 200, (b + 1) * 200);
      readers += (await planning.pick(counting, batch, { since, runId, dryRun: true })).size;
    }
    const used = process.cpuUsage(cpu);
    return {
      readers,
      cpuMsPerReader: +((used.user + used.system) / 1000 / readers).toFixed(3),
      wallMsPerReader: +((performance.now() - t0) / readers).toFixed(3),
      statementsPerBatch: +(statements / batches).toFixed(1),
    };
  } finally {
    planning.forget(runId);
    await papers.forgetRankedLists(runId);
  }
}
