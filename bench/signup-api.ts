/**
 * Signup API: requests per second and latency of `POST /api/subscriptions` with new addresses
 * (validate, write PostgreSQL, enqueue the confirmation mail), rate limits set out of the way;
 * in the same run, a bare Fastify route answering the same request as the ceiling.
 *
 *   npx tsx bench/signup-api.ts [--seconds 10] [--connections 50,100,200] [--rounds 3]
 *
 * The signups that arrive together are written together (one rate-limit call, one statement, one
 * queued job per batch), so the figure depends on how many requests are in flight: each level of
 * --connections is a run of its own (both servers), with its own result file.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import autocannon from 'autocannon';
import { ROOT } from '../services/core/paths.ts';
import { freePort } from '../services/local/ports.ts';
import { arg, cpuBetween, cpuSeconds, saveResult } from './support.ts';

const SECONDS = arg('seconds', 10);
const at = process.argv.indexOf('--connections');
const LEVELS = (at > 0 ? String(process.argv[at + 1]) : '50,100,200').split(',').map(Number);
const ROUNDS = arg('rounds', 3);

async function run(mode: 'paperboy' | 'bare', connections: number) {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      // BENCH_SERVER_PROFILE=dir writes the server's CPU profile there (node --cpu-prof).
      ...(process.env.BENCH_SERVER_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SERVER_PROFILE}`] : []),
      '--import',
      'tsx',
      path.join(ROOT, 'bench/signup-server.ts'),
      mode,
      String(port),
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, LOG_LEVEL: 'silent' },
    },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d) => String(d).includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
  let n = 0;
  const stamp = Date.now();
  const roles = { server: child.pid ?? 0, loadGenerator: process.pid };
  // Several rounds against the same server: on a shared two-core machine one round can be a
  // third off the next, so the median round is the figure, with every round kept.
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const cpuBefore = cpuSeconds(roles);
    const result = await autocannon({
      url: `http://127.0.0.1:${port}`,
      connections,
      duration: SECONDS,
      requests: [
        {
          method: 'POST',
          path: '/api/subscriptions',
          headers: { 'content-type': 'application/json' },
          setupRequest: (req) => ({
            ...req,
            body: JSON.stringify({ email: `reader${stamp}.${n++}@example.org`, topics: ['lora'] }),
          }),
        },
      ],
    });
    rounds.push({
      requestsPerSecond: Math.round(result.requests.average),
      latencyMs: { p50: result.latency.p50, p99: result.latency.p99 },
      non2xx: result.non2xx,
      errors: result.errors,
      // Where the round's time went: CPU seconds per process, out of seconds × cores.
      cpuSecondsDuringRun: cpuBetween(cpuBefore, cpuSeconds(roles)),
    });
  }
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  const median = [...rounds].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond)[Math.floor(ROUNDS / 2)];
  if (!median) throw new Error('no rounds');
  return { ...median, rounds: rounds.map((r) => ({ requestsPerSecond: r.requestsPerSecond, latencyMs: r.latencyMs })) };
}

for (const connections of LEVELS) {
  const paperboy = await run('paperboy', connections);
  const bare = await run('bare', connections);
  const result = {
    benchmark: 'signup-api',
    command: `npx tsx bench/signup-api.ts --seconds ${SECONDS} --connections ${connections} --rounds ${ROUNDS}`,
    setup: {
      seconds: SECONDS,
      connections,
      rounds: ROUNDS,
      loadGenerator: 'autocannon, in the benchmark process; each server in its own process',
    },
    paperboy,
    bareFastify: bare,
    ratios: { paperboyOfBare: +(paperboy.requestsPerSecond / bare.requestsPerSecond).toFixed(2) },
  };
  console.log(JSON.stringify(result, null, 2));
  console.log(`written to ${saveResult(`signup-api-${connections}c`, result)}`);
}
process.exit(0);
