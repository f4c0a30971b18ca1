/**
 * Signup API: requests per second and latency of `POST /api/subscriptions` with new addresses
 * (validate, write PostgreSQL, enqueue the confirmation mail), rate limits set out of the way;
 * in the same run, a bare Fastify route answering the same request as the ceiling.
 *
 *   npx tsx bench/signup-api.ts [--seconds 10] [--connections 50,100,200] [--rounds 5]
 *
 * The signups that arrive together are written together (one rate-limit call, one statement, one
 * queued job per batch), so the figure depends on how many requests are in flight: each level of
 * --connections has its own rounds and result file. The paperboy server keeps its database
 * across levels (it only grows: later levels sign up into a bigger table).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import autocannon from 'autocannon';
import { ROOT } from '../services/core/paths.ts';
import { freePort } from '../services/local/ports.ts';
import { arg, busyBetween, cpuBetween, cpuSeconds, machineTime, saveResult } from './support.ts';

const SECONDS = arg('seconds', 10);
const at = process.argv.indexOf('--connections');
const LEVELS = (at > 0 ? String(process.argv[at + 1]) : '50,100,200').split(',').map(Number);
const ROUNDS = arg('rounds', 5);

type Mode = 'paperboy' | 'bare';

/** Starts one server in its own process, so the load generator does not share its CPU time. */
async function startServer(mode: Mode) {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      // BENCH_SERVER_PROFILE=dir writes each server's CPU profile to dir/paperboy and dir/bare
      // (node --cpu-prof); `npx tsx bench/profile.ts dir/paperboy` summarises it.
      ...(process.env.BENCH_SERVER_PROFILE
        ? ['--cpu-prof', `--cpu-prof-dir=${path.join(process.env.BENCH_SERVER_PROFILE, mode)}`]
        : []),
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
  return {
    /** One round of new signups against this server. */
    async round(connections: number) {
      const cpuBefore = cpuSeconds(roles);
      const machineBefore = machineTime();
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
      const busy = busyBetween(machineBefore, machineTime());
      // The bare route never touches PostgreSQL or Redis (their figures then only show the
      // paperboy server's idle connections closing).
      const cpu = Object.fromEntries(
        Object.entries(cpuBetween(cpuBefore, cpuSeconds(roles))).filter(
          ([role, seconds]) => seconds > 0 && (mode === 'paperboy' || role in roles),
        ),
      );
      return {
        requestsPerSecond: Math.round(result.requests.average),
        latencyMs: { p50: result.latency.p50, p99: result.latency.p99 },
        non2xx: result.non2xx,
        errors: result.errors,
        // Where the round's time went: CPU seconds per process, the same per request, and the
        // share of the machine's cores busy (processes, kernel and interrupts together).
        cpuSecondsDuringRun: cpu,
        cpuMicrosecondsPerRequest: Object.fromEntries(
          Object.entries(cpu).map(([role, seconds]) => [role, Math.round((seconds * 1e6) / result.requests.total)]),
        ),
        machineBusy: busy,
      };
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

type Round = Awaited<ReturnType<Awaited<ReturnType<typeof startServer>>['round']>>;

const median = <T>(xs: T[], by: (x: T) => number): T => {
  const m = [...xs].sort((a, b) => by(a) - by(b))[Math.floor(xs.length / 2)];
  if (m === undefined) throw new Error('no rounds');
  return m;
};
const summary = (rounds: Round[]) => ({
  ...median(rounds, (r) => r.requestsPerSecond),
  rounds: rounds.map((r) => ({
    requestsPerSecond: r.requestsPerSecond,
    latencyMs: r.latencyMs,
    cpuMicrosecondsPerRequest: r.cpuMicrosecondsPerRequest,
    machineBusy: r.machineBusy,
  })),
});

const paperboyServer = await startServer('paperboy');
const bareServer = await startServer('bare');
for (const connections of LEVELS) {
  // The two servers take turns, round by round: on a shared two-core machine one round can be far
  // off the next, so each ratio compares rounds run side by side, and the median is the figure.
  const paperboy: Round[] = [];
  const bare: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    paperboy.push(await paperboyServer.round(connections));
    bare.push(await bareServer.round(connections));
  }
  const perRound = paperboy.map((p, i) => +(p.requestsPerSecond / (bare[i]?.requestsPerSecond ?? 1)).toFixed(3));
  const result = {
    benchmark: 'signup-api',
    command: `npx tsx bench/signup-api.ts --seconds ${SECONDS} --connections ${connections} --rounds ${ROUNDS}`,
    setup: {
      seconds: SECONDS,
      connections,
      rounds: ROUNDS,
      loadGenerator: 'autocannon, in the benchmark process; each server in its own process; rounds alternate',
    },
    paperboy: summary(paperboy),
    bareFastify: summary(bare),
    ratios: { paperboyOfBare: median(perRound, (x) => x), perRound },
  };
  console.log(JSON.stringify(result, null, 2));
  console.log(`written to ${saveResult(`signup-api-${connections}c`, result)}`);
}
await paperboyServer.stop();
await bareServer.stop();
process.exit(0);
