/**
 * Redis memory over many signups: does it stay flat while finished jobs are trimmed?
 *
 *   npx tsx bench/redis-memory.ts [--signups 100000] [--every 10000] [--concurrency 8]
 *
 * Each signup takes the real path (rate limits, the PostgreSQL upsert, the queued job) and a
 * worker in this process mails its confirmation to a discarding SMTP sink. The same signups run
 * twice in one run, each time against a Redis of its own: with the default job retention
 * (JOBS_KEEP_*), and with finished jobs kept as they were before there was any (every one, for
 * good). After every `--every` signups the producer waits for the mail queue to empty, then reads
 * Redis's used_memory and counts its keys by kind. Rate-limit counters live one window
 * (SIGNUP_LIMIT_WINDOW_SECONDS); it is 10 s here, so that over a few minutes they come and go as
 * they do over hours in production instead of hiding the job history. The two variants run at once,
 * each in a process of its own, so the run takes about as long as one of them.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { SignupInput } from '../services/subscribers/signup.ts';
import { startWorkers } from '../services/worker/index.ts';
import { arg, benchServices, saveResult } from './support.ts';

const N = arg('signups', 100_000);
const EVERY = arg('every', 10_000);
const CONCURRENCY = arg('concurrency', 8);
const ONLY = process.argv.includes('--variant') ? process.argv[process.argv.indexOf('--variant') + 1] : undefined;

const COMMON = {
  SIGNUP_LIMIT_PER_IP: '1000000000',
  SIGNUP_LIMIT_PER_ADDRESS: '1000000000',
  SIGNUP_LIMIT_GLOBAL: '1000000000',
  SIGNUP_LIMIT_WINDOW_SECONDS: '10',
};
const VARIANTS: Array<{ name: string; env: Record<string, string> }> = [
  { name: 'trimmed', env: {} },
  {
    name: 'untrimmed',
    env: {
      JOBS_KEEP_COMPLETED: '10000000',
      JOBS_KEEP_COMPLETED_HOURS: String(24 * 365),
      JOBS_KEEP_FAILED: '10000000',
      JOBS_KEEP_FAILED_DAYS: '365',
    },
  },
];

interface Checkpoint {
  signups: number;
  usedMemoryMiB: number;
  keys: number;
  jobKeys: number;
  rateLimitKeys: number;
  otherKeys: number;
  completedJobs: number;
  seconds: number;
}

/** One variant in this process: its own Redis, database and sink; the checkpoints it measured. */
async function runVariant(variant: (typeof VARIANTS)[number]): Promise<Checkpoint[]> {
  const bench = await benchServices({ ...COMMON, ...variant.env });
  const s = bench.services;
  const workers = startWorkers(s);
  const redis = s.queues.redis;
  const mail = s.queues.get('mail');
  const prefix = s.config.queuePrefix;
  const t0 = performance.now();

  const quiet = async () => {
    for (;;) {
      const counts = await mail.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      if (Object.values(counts).every((n) => n === 0)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const measure = async (signups: number): Promise<Checkpoint> => {
    await quiet();
    const info = await redis.info('memory');
    const used = Number(/^used_memory:(\d+)/m.exec(info)?.[1]);
    const kinds = { jobKeys: 0, rateLimitKeys: 0, otherKeys: 0 };
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'COUNT', 5000);
      for (const k of keys) {
        if (k.startsWith(`${prefix}:mail:signup_`)) kinds.jobKeys++;
        else if (k.startsWith(`${prefix}:ratelimit:`)) kinds.rateLimitKeys++;
        else kinds.otherKeys++;
      }
      cursor = next;
    } while (cursor !== '0');
    const c: Checkpoint = {
      signups,
      usedMemoryMiB: +(used / 2 ** 20).toFixed(1),
      keys: await redis.dbsize(),
      ...kinds,
      completedJobs: await mail.getCompletedCount(),
      seconds: +((performance.now() - t0) / 1000).toFixed(1),
    };
    console.log(
      `  ${variant.name.padEnd(9)} ${String(signups).padStart(7)} signups: ${c.usedMemoryMiB} MiB, ${c.keys} keys ` +
        `(${c.jobKeys} job, ${c.rateLimitKeys} rate-limit, ${c.otherKeys} other), ${c.completedJobs} completed jobs, ${c.seconds} s`,
    );
    return c;
  };

  const checkpoints = [await measure(0)];
  let next = 0;
  for (let upTo = EVERY; upTo <= N; upTo += EVERY) {
    // CONCURRENCY signups in flight, as many requests would be: each batch of them is one job.
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < upTo) {
          const i = next++;
          await s.signups.signup(SignupInput.parse({ email: `reader-${i}@example.org` }), `10.${i % 250}.0.1`);
        }
      }),
    );
    checkpoints.push(await measure(upTo));
  }
  await workers.close();
  await bench.close();
  return checkpoints;
}

/** Runs a variant in a child process, passing its lines through; resolves with its checkpoints. */
function child(name: string): Promise<Checkpoint[]> {
  const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--variant', name];
  args.push('--signups', String(N), '--every', String(EVERY), '--concurrency', String(CONCURRENCY));
  const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let result: Checkpoint[] | undefined;
  createInterface({ input: p.stdout }).on('line', (line) => {
    if (line.startsWith('RESULT ')) result = JSON.parse(line.slice(7));
    else console.log(line);
  });
  return new Promise((resolve, reject) =>
    p.on('close', (code) => (result ? resolve(result) : reject(new Error(`${name} exited with ${code}`)))),
  );
}

if (ONLY) {
  const variant = VARIANTS.find((v) => v.name === ONLY);
  if (!variant) throw new Error(`no variant ${ONLY}`);
  console.log(`RESULT ${JSON.stringify(await runVariant(variant))}`);
  process.exit(0);
}

if (process.env.BENCH_REDIS_URL) {
  console.warn('BENCH_REDIS_URL is set: each used_memory counts whatever else that Redis holds');
}
console.log(`redis memory: ${N.toLocaleString('en')} signups per variant, ${CONCURRENCY} at a time`);
const t0 = performance.now();
const runs = await Promise.all(VARIANTS.map((v) => child(v.name)));
const results = VARIANTS.map((v, i) => ({ name: v.name, env: v.env, checkpoints: runs[i] as Checkpoint[] }));
const summary = Object.fromEntries(
  results.map((r) => {
    const mem = r.checkpoints.slice(1).map((c) => c.usedMemoryMiB);
    const last = r.checkpoints.at(-1) as Checkpoint;
    return [
      r.name,
      { usedMemoryMiB: { min: Math.min(...mem), max: Math.max(...mem), last: last.usedMemoryMiB }, keys: last.keys },
    ];
  }),
);
const file = saveResult(`redis-memory-${N}`, {
  benchmark: 'redis-memory',
  command: `npx tsx bench/redis-memory.ts --signups ${N} --every ${EVERY} --concurrency ${CONCURRENCY}`,
  setup: { signups: N, every: EVERY, concurrency: CONCURRENCY, env: COMMON },
  seconds: +((performance.now() - t0) / 1000).toFixed(1),
  summary,
  variants: results,
});
console.log(JSON.stringify(summary));
console.log(`saved ${file}`);
process.exit(0);
