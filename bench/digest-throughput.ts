/**
 * Digest throughput: from "digest run starts" to "last message accepted by the SMTP sink".
 *
 *   npx tsx bench/digest-throughput.ts --subscribers 10000 [--papers 3000] [--sample 500]
 *   npx tsx bench/digest-throughput.ts --subscribers 100000 --voters 0.2 [--rounds 4]
 *
 * Set-up: N active subscribers due now (a third without topics, the rest with two of a dozen
 * topics, a spread of time zones), a few thousand papers with signals, real PostgreSQL and
 * Redis, and Postfix's smtp-sink accepting and discarding. This process plans (claim, rank,
 * record) as the scheduler does; a `paperboy start` worker process sends. In the same run, three
 * references: the naive pipeline (mjml2html and a full nodemailer MIME build per recipient, one
 * job per recipient), the raw SMTP limit (smtp-source pumping prebuilt 50 KB messages into the
 * same sink) and the SMTP client ceiling (one prebuilt digest sent over and over through
 * Paperboy's own pooled mailer).
 *
 * With `--voters share`, that share of the subscribers voted (bench/support.ts insertVoters: one
 * digest sent before, 10 votes on it) and has a model, trained as the planner's personal path
 * trains it (one reader per profile, the others given their profile's model: what the first
 * planning after their votes would store). The run is then `--rounds` digest runs of everyone,
 * after a warm-up run, alternating with votes and without them (the voters' votes taken away:
 * everyone on the SQL path), each from the same state (the previous run's deliveries deleted, everyone due again), and the
 * figures with votes over those without; the references are left out.
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import Handlebars from 'handlebars';
import { Redis } from 'ioredis';
import mjml2html from 'mjml';
import nodemailer from 'nodemailer';
import { paths } from '../services/core/paths.ts';
import { type DigestPaper, renderDigest } from '../services/digests/renderer.ts';
import { createMimeWriter } from '../services/mail/mime.ts';
import { createEmailTemplates } from '../services/mail/templates.ts';
import { rankSince } from '../services/papers/ranking.ts';
import { PaperboyProcess } from '../test/support/process.ts';
import {
  analyzeSetUp,
  arg,
  benchServices,
  cpuBetween,
  cpuSeconds,
  insertPapers,
  insertSubscribers,
  insertVoters,
  percentile,
  rawSmtpLimit,
  saveResult,
  trainVoters,
  withVotes,
  ZONES,
} from './support.ts';

const N = arg('subscribers', 10_000);
const PAPERS = arg('papers', 3000);
const SAMPLE = Math.min(arg('sample', 500), N);
const VOTERS = arg('voters', 0);
const ROUNDS = arg('rounds', 4);

const bench = await benchServices({ DIGEST_BATCH_SIZE: '200', SMTP_MAX_CONNECTIONS: '8' });
const { services: s } = bench;
const db = s.db;
console.log(`digest throughput: ${N} subscribers, ${PAPERS} papers, sink: ${bench.sink.kind}`);

// Papers about a dozen topics with signals, news within a week; subscribers due now.
await insertPapers(db, PAPERS, 7);
await s.papers.refreshTrends(new Date());
const T = new Date();
await insertSubscribers(db, N, T, ZONES);
await analyzeSetUp(db);
let voters = 0;
let trainMsPerModel = 0;
if (VOTERS > 0) {
  voters = await insertVoters(db, VOTERS, T);
  trainMsPerModel = await trainVoters(db, rankSince(T, bench.config.rankWindowDays));
  console.log(`${voters} voters, 10 votes each; training a model: ${trainMsPerModel.toFixed(1)} ms of CPU`);
}

// --- Paperboy ---------------------------------------------------------------------------
// As deployed: this process plans, as the scheduler does; a `paperboy start` worker process sends.
const redis = new Redis(bench.redisUrl);
// BENCH_WORKER_PROFILE=dir writes the worker's CPU profile there (node --cpu-prof).
const profileDir = process.env.BENCH_WORKER_PROFILE;
const worker = await PaperboyProcess.start(
  { ...bench.settings, ROLES: 'worker', PORT: '0' },
  { echoStderr: true, nodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [] },
);
let peakRedis = 0;
// The worker's resident memory through the run (every 100 ms): flat, or growing with the list?
const rssOverTime: number[] = [];
const sample = async () => {
  rssOverTime.push(worker.memoryMiB('VmRSS'));
  const info = await redis.info('memory');
  peakRedis = Math.max(peakRedis, Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0));
};
const sampler = setInterval(() => void sample(), 100);

// Done when nothing is owed: a look at the partial index of owed deliveries, not a count over
// the whole table (which, ten times a second, took PostgreSQL CPU from the run it measures).
const untilNothingOwed = async () => {
  for (;;) {
    const { rowCount } = await db.query("SELECT 1 FROM deliveries WHERE status IN ('queued', 'sending') LIMIT 1");
    if (rowCount === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
};

const roles = { planner: process.pid, worker: worker.pid };

/** Plans everything due at T in this process while the worker sends: until nothing is owed. */
async function digestRun() {
  const cpuBefore = cpuSeconds(roles);
  const t0 = performance.now();
  let batches = 0;
  const planned = await s.planner.planAll(T, async (b) => {
    batches++;
    if (b.queued.length)
      await s.queues.add(
        'digest',
        'send',
        { deliveryIds: b.queued },
        { jobId: `bench_${b.queued[0]}_${b.queued.length}` },
      );
  });
  const planMs = performance.now() - t0;
  await untilNothingOwed();
  const totalMs = performance.now() - t0;
  return { planned, planMs, totalMs, batches, cpu: cpuBetween(cpuBefore, cpuSeconds(roles)) };
}

if (VOTERS > 0) {
  const rounds: {
    votes: boolean;
    sent: number;
    seconds: number;
    digestsPerSecond: number;
    planningSeconds: number;
    planningMsPerBatch: number;
    cpuSecondsDuringRun: Record<string, number>;
    benchHeapMiB: number;
  }[] = [];
  // Round 0 warms up (the worker's first digests compile its templates and code): not counted.
  for (let i = 0; i <= ROUNDS; i++) {
    const votes = i % 2 === 1;
    if (i > 0) {
      // The same state for every run: the last run's digests gone, everyone due at T again.
      await db.query("DELETE FROM deliveries WHERE digest_date > ($1::timestamptz - interval '3 days')::date", [T]);
      await db.query('UPDATE subscribers SET next_send_at = $1', [T]);
      await db.query('VACUUM ANALYZE deliveries, delivery_papers, subscribers');
    }
    await withVotes(db, votes);
    const r = await digestRun();
    const { rows } = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM deliveries WHERE status = 'sent' AND digest_date > ($1::timestamptz - interval '3 days')::date",
      [T],
    );
    const sent = rows[0]?.n ?? 0;
    const round = {
      votes,
      sent,
      seconds: +(r.totalMs / 1000).toFixed(2),
      digestsPerSecond: Math.round(sent / (r.totalMs / 1000)),
      planningSeconds: +(r.planMs / 1000).toFixed(2),
      planningMsPerBatch: +(r.planMs / Math.max(r.batches, 1)).toFixed(1),
      cpuSecondsDuringRun: r.cpu,
      benchHeapMiB: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
    };
    if (i > 0) rounds.push(round);
    console.log(
      `${i === 0 ? 'warm-up' : `round ${i}`} (${votes ? `${voters} voters with models` : 'no votes'}): ${JSON.stringify(round)}`,
    );
  }
  const meanOf = (on: boolean, k: 'digestsPerSecond' | 'planningSeconds') => {
    const xs = rounds.filter((r) => r.votes === on).map((r) => r[k]);
    return xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
  };
  const result = {
    benchmark: 'digest-throughput-voters',
    command: `npx tsx bench/digest-throughput.ts --subscribers ${N} --papers ${PAPERS} --voters ${VOTERS} --rounds ${ROUNDS}`,
    setup: {
      subscribers: N,
      papers: PAPERS,
      voters,
      votesEach: 10,
      sink: bench.sink.kind,
      batchSize: 200,
      smtpConnections: 8,
    },
    trainingCpuMsPerModel: +trainMsPerModel.toFixed(1),
    rounds,
    withVotesOverWithout: {
      digestsPerSecond: +(meanOf(true, 'digestsPerSecond') / meanOf(false, 'digestsPerSecond')).toFixed(2),
      planningSeconds: +(meanOf(true, 'planningSeconds') / meanOf(false, 'planningSeconds')).toFixed(2),
    },
    // Wall time planning added per voter (the planner shares two cores with the worker and PostgreSQL).
    planningMsAddedPerVoter: +(
      ((meanOf(true, 'planningSeconds') - meanOf(false, 'planningSeconds')) * 1000) /
      Math.max(voters, 1)
    ).toFixed(3),
  };
  console.log(JSON.stringify(result, null, 2));
  console.log(`written to ${saveResult(`digest-throughput-${N}-voters`, result)}`);
  clearInterval(sampler);
  await worker.kill('SIGTERM');
  redis.disconnect();
  await bench.close();
  process.exit(0);
}

const { planned, planMs, totalMs, batches, cpu: cpuDuringRun } = await digestRun();
clearInterval(sampler);
await sample();
const peakRss = worker.memoryMiB('VmHWM');
const { rows: stats } = await db.query<{ sent: number; ms: number[] }>(
  "SELECT count(*)::int AS sent, array_agg(extract(epoch FROM sent_at - claimed_at) * 1000 ORDER BY 1) AS ms FROM deliveries WHERE status = 'sent'",
);
const sent = stats[0]?.sent ?? 0;
const latencies = (stats[0]?.ms ?? []).map(Number).sort((a, b) => a - b);
const paperboyRate = sent / (totalMs / 1000);

// --- The send side alone, like for like with the naive pipeline ------------------------------
// The naive pipeline below is handed papers already ranked, so it compares with sending only:
// the same deliveries, owed again, sent again by the same worker (claims, rendering, MIME, SMTP,
// marks), with planning out of the way.
const { rows: owedAgain } = await db.query<{ id: number }>(
  "UPDATE deliveries SET status = 'queued', attempts = 0, claimed_at = NULL, sent_at = NULL WHERE status = 'sent' RETURNING id",
);
const resendIds = owedAgain.map((r) => r.id).sort((a, b) => a - b);
const resendStart = performance.now();
for (let i = 0; i < resendIds.length; i += 200) {
  const chunk = resendIds.slice(i, i + 200);
  await s.queues.add('digest', 'send', { deliveryIds: chunk }, { jobId: `bench_resend_${chunk[0]}_${chunk.length}` });
}
await untilNothingOwed();
const sendOnlyRate = resendIds.length / ((performance.now() - resendStart) / 1000);
await worker.kill('SIGTERM');

// --- Naive pipeline: MJML and a full MIME build per recipient, one job per recipient -----------
const source = readFileSync(path.join(paths.templates, 'emails/digest.mjml'), 'utf8');
const hb = Handlebars.create();
const templates = createEmailTemplates();
const { rows: sampleRows } = await db.query<{
  email: string;
  papers: DigestPaper[];
}>(
  `SELECT s.email, json_agg(json_build_object('position', dp.position, 'reason', dp.reason, 'id', p.id, 'title', p.title,
          'abstract', p.abstract, 'arxiv_id', p.arxiv_id, 'authors', p.authors, 'organization', p.organization,
          'ai_summary', p.ai_summary, 'upvotes', p.upvotes, 'comments', p.comments, 'github_stars', p.github_stars,
          'github_repo', p.github_repo, 'project_page', p.project_page) ORDER BY dp.position) AS papers
     FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id JOIN delivery_papers dp ON dp.delivery_id = d.id JOIN papers p ON p.id = dp.paper_id
    GROUP BY d.id, s.email ORDER BY d.id LIMIT $1`,
  [SAMPLE],
);
const transport = nodemailer.createTransport({ url: bench.sink.url, pool: true, maxConnections: 8 });
// BullMQ leaves connections it was given open: they are closed below, before Redis stops.
const producer = new Redis(bench.redisUrl);
const consumer = new Redis(bench.redisUrl, { maxRetriesPerRequest: null });
const naiveQueue = new Queue('naive', { connection: producer, prefix: bench.config.queuePrefix });
const naiveStart = performance.now();
let naiveDone = 0;
const naiveWorker = new Worker(
  'naive',
  async (job) => {
    const r = sampleRows[job.data.i as number] as (typeof sampleRows)[number];
    const view = {
      email: r.email,
      digestDate: '2026-11-26',
      frequency: 'daily' as const,
      sendHour: 8,
      sendWeekday: 1,
      timezone: 'UTC',
      papers: r.papers,
      siteUrl: 'https://paperboy.example',
      unsubscribeUrl: 'https://paperboy.example/u/x',
      manageUrl: 'https://paperboy.example/manage/x',
    };
    // What a straightforward implementation does: fill the MJML, then compile it, for every recipient.
    const { text, subject } = await renderDigest(templates, view);
    const filledMjml = hb.compile(source)({
      ...view,
      subject,
      preheader: subject,
      heading: 'Trending papers today',
      dateText: 'Thursday, 26 November 2026',
      scheduleText: 'every day at 08:00 UTC',
      papers: r.papers.map((p) => ({ ...p, url: 'https://arxiv.org', summary: p.abstract })),
    });
    const { html } = await mjml2html(filledMjml, {
      filePath: path.join(paths.templates, 'emails/digest.mjml'),
      ignoreIncludes: false,
      includePath: path.join(paths.templates, 'emails'),
    });
    await transport.sendMail({
      from: 'Paperboy <digest@paperboy.example>',
      to: r.email,
      subject,
      html,
      text,
      list: { unsubscribe: view.unsubscribeUrl },
      headers: { 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
    });
    naiveDone++;
  },
  {
    connection: consumer,
    prefix: bench.config.queuePrefix,
    concurrency: 8,
  },
);
await naiveQueue.addBulk(sampleRows.map((_, i) => ({ name: 'send', data: { i } })));
while (naiveDone < sampleRows.length) await new Promise((r) => setTimeout(r, 50));
const naiveRate = sampleRows.length / ((performance.now() - naiveStart) / 1000);
await naiveWorker.close();
await naiveQueue.close();
producer.disconnect();
consumer.disconnect();
transport.close();

// --- Raw SMTP limit ---------------------------------------------------------------------------
const rawRate = rawSmtpLimit(bench.sink, Math.max(SAMPLE * 4, 2000), 50_000, 8);

// --- SMTP client ceiling: one prebuilt digest pumped through Paperboy's pooled mailer ----------
// What nodemailer alone costs per message on this machine: the send side cannot beat it.
const first = sampleRows[0] as (typeof sampleRows)[number];
const firstDigest = await renderDigest(templates, {
  email: first.email,
  digestDate: '2026-11-26',
  frequency: 'daily',
  sendHour: 8,
  sendWeekday: 1,
  timezone: 'UTC',
  papers: first.papers,
  siteUrl: 'https://paperboy.example',
  unsubscribeUrl: 'https://paperboy.example/u/x',
  manageUrl: 'https://paperboy.example/manage/x',
});
const prebuilt = createMimeWriter([['From', 'Paperboy <digest@paperboy.example>']])({
  to: first.email,
  subject: firstDigest.subject,
  text: firstDigest.text,
  html: firstDigest.html,
  messageId: '<bench@paperboy.example>',
  date: new Date(),
  headers: [],
});
const clientMessages = Math.max(SAMPLE * 4, 2000);
let pumped = 0;
const clientStart = performance.now();
await Promise.all(
  Array.from({ length: 8 }, async () => {
    while (pumped++ < clientMessages) {
      const sent = await s.mailer.sendRaw(first.email, prebuilt, '<bench@paperboy.example>');
      if (sent.kind !== 'sent') throw new Error(`the sink did not take a message: ${sent.reply}`);
    }
  }),
);
const clientRate = clientMessages / ((performance.now() - clientStart) / 1000);

const result = {
  benchmark: 'digest-throughput',
  command: `npx tsx bench/digest-throughput.ts --subscribers ${N} --papers ${PAPERS} --sample ${SAMPLE}`,
  setup: { subscribers: N, papers: PAPERS, sink: bench.sink.kind, batchSize: 200, smtpConnections: 8 },
  paperboy: {
    sent,
    seconds: +(totalMs / 1000).toFixed(2),
    digestsPerSecond: Math.round(paperboyRate),
    planningSeconds: +(planMs / 1000).toFixed(2),
    planningMsPerBatch: +(planMs / Math.max(batches, 1)).toFixed(1),
    claimToAcceptedMs: { p50: +percentile(latencies, 50).toFixed(1), p99: +percentile(latencies, 99).toFixed(1) },
    workerPeakRssMiB: peakRss,
    workerRssMiBAtEachTenth: Array.from(
      { length: 10 },
      (_, i) => rssOverTime[Math.floor(((i + 1) * rssOverTime.length) / 10) - 1],
    ),
    peakRedisMiB: +(peakRedis / 2 ** 20).toFixed(1),
    // Where the run's time went: CPU seconds per process, out of seconds × cores.
    cpuSecondsDuringRun: cpuDuringRun,
    planned: planned.claimed,
  },
  sendOnly: { digests: resendIds.length, digestsPerSecond: Math.round(sendOnlyRate) },
  naive: { recipients: sampleRows.length, digestsPerSecond: Math.round(naiveRate) },
  rawSmtp: rawRate ? { messagesPerSecond: Math.round(rawRate), messageBytes: 50_000 } : 'smtp-source not installed',
  smtpClient: { messagesPerSecond: Math.round(clientRate), messageBytes: prebuilt.length, connections: 8 },
  ratios: {
    paperboyOverNaive: +(paperboyRate / naiveRate).toFixed(1),
    sendOnlyOverNaive: +(sendOnlyRate / naiveRate).toFixed(1),
    paperboyOfRawSmtp: rawRate ? +(paperboyRate / rawRate).toFixed(2) : null,
    paperboyOfSmtpClient: +(paperboyRate / clientRate).toFixed(2),
  },
};
console.log(JSON.stringify(result, null, 2));
console.log(`written to ${saveResult(`digest-throughput-${N}`, result)}`);
redis.disconnect();
await bench.close();
process.exit(0);
