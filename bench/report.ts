/** Prints the README's benchmark table from bench/results/*.json. npx tsx bench/report.ts */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../services/core/paths.ts';

const dir = path.join(ROOT, 'bench/results');
// biome-ignore lint/suspicious/noExplicitAny: result files are whatever the benchmarks wrote
const results: any[] = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  // Numbers in names in numeric order: signup-api-50c before signup-api-100c.
  .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
  .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')));

const rows: string[] = [
  '| benchmark | Paperboy | reference(s) | ratio | machine, date | command |',
  '|---|---|---|---|---|---|',
];
for (const r of results) {
  const m = `${r.machine.cpus} CPU, Node ${r.machine.node}, ${r.machine.date.slice(0, 10)}`;
  if (r.benchmark === 'digest-throughput') {
    const p = r.paperboy;
    rows.push(
      `| digests, ${r.setup.subscribers.toLocaleString('en')} subscribers | ${p.digestsPerSecond} digests/s (${p.seconds} s; p50/p99 ${p.claimToAcceptedMs.p50}/${p.claimToAcceptedMs.p99} ms; worker peak RSS ${p.workerPeakRssMiB} MiB; Redis ${p.peakRedisMiB} MiB; planning ${p.planningMsPerBatch} ms per 200)${r.sendOnly ? `; sending alone ${r.sendOnly.digestsPerSecond}/s` : ''} | naive ${r.naive.digestsPerSecond}/s; raw SMTP ${r.rawSmtp.messagesPerSecond ?? '–'}/s; SMTP client ${r.smtpClient.messagesPerSecond}/s | ${r.ratios.paperboyOverNaive}× naive${r.ratios.sendOnlyOverNaive ? ` (sending alone: ${r.ratios.sendOnlyOverNaive}×)` : ''}; ${r.ratios.paperboyOfRawSmtp ?? '–'} of raw SMTP; ${r.ratios.paperboyOfSmtpClient} of the SMTP client | ${m} | \`${r.command}\` |`,
    );
  } else if (r.benchmark === 'planning-scale') {
    const p = r.paperboy;
    rows.push(
      `| planning, ${r.setup.subscribers.toLocaleString('en')} subscribers${r.setup.voters ? `, ${r.setup.voters.toLocaleString('en')} of them with votes and a model` : ''} (no sending) | ${p.subscribersPerSecond} subscribers/s (${p.seconds} s); seconds per 100,000: ${p.secondsPerStep.join(', ')} | the first 100,000 of the same run | last 100,000 took ${p.lastStepOverFirst}× the first; sequential scans of growing tables: ${r.plans.sequentialScansOfGrowingTables.length ? r.plans.sequentialScansOfGrowingTables.join(', ') : 'none'} | ${m} | \`${r.command}\` |`,
    );
  } else if (r.benchmark === 'digest-throughput-voters') {
    const runs = (on: boolean) =>
      r.rounds
        .filter((x: { votes: boolean }) => x.votes === on)
        .map((x: { digestsPerSecond: number }) => x.digestsPerSecond)
        .join(', ');
    rows.push(
      `| digests, ${r.setup.subscribers.toLocaleString('en')} subscribers, ${r.setup.voters.toLocaleString('en')} with votes and a model | ${runs(true)} digests/s (runs with votes) | the same subscribers without votes, runs alternating: ${runs(false)} digests/s | ${r.withVotesOverWithout.digestsPerSecond} of the figure without votes; planning ${r.withVotesOverWithout.planningSeconds}× as long | ${m} | \`${r.command}\` |`,
    );
  } else if (r.benchmark === 'relevance-live') {
    const arm = (name: string) => r.arms.find((a: { name: string }) => a.name === name);
    const [t, o, l] = [arm('trending only'), arm('topics only'), arm('learned')];
    rows.push(
      `| relevance through the service (11 readers, 10 seeds) | learned: precision@10 on day 3 ${l.precisionAt10[2]} (days 1–5: ${l.precisionAt10.join(', ')}) | trending only ${t.precisionAt10[2]}; topics only ${o.precisionAt10[2]} | ${(l.precisionAt10[2] / t.precisionAt10[2]).toFixed(1)}× trending only; ${(l.precisionAt10[2] / o.precisionAt10[2]).toFixed(1)}× topics only | ${m} | \`${r.command}\` |`,
    );
  } else if (r.benchmark === 'signup-api') {
    rows.push(
      `| signup API, ${r.setup.connections} connections | ${r.paperboy.requestsPerSecond} req/s (p50/p99 ${r.paperboy.latencyMs.p50}/${r.paperboy.latencyMs.p99} ms; median of ${r.paperboy.rounds?.length ?? 1} rounds: ${(r.paperboy.rounds ?? [r.paperboy]).map((x: { requestsPerSecond: number; latencyMs: { p99: number } }) => `${x.requestsPerSecond} (p99 ${x.latencyMs.p99} ms)`).join(', ')}) | bare Fastify ${r.bareFastify.requestsPerSecond} req/s | ${r.ratios.paperboyOfBare} of bare${r.ratios.perRound ? ` (median of the rounds' ratios: ${r.ratios.perRound.join(', ')})` : ''} | ${m} | \`${r.command}\` |`,
    );
  } else if (r.benchmark === 'redis-memory') {
    const t = r.summary.trimmed;
    const u = r.summary.untrimmed;
    rows.push(
      `| Redis memory, ${r.setup.signups.toLocaleString('en')} signups | ${t.usedMemoryMiB.min}–${t.usedMemoryMiB.max} MiB used from the first checkpoint on, ${t.usedMemoryMiB.last} MiB at the end; ${t.keys.toLocaleString('en')} keys | finished jobs never removed: ${u.usedMemoryMiB.min} → ${u.usedMemoryMiB.last} MiB; ${u.keys.toLocaleString('en')} keys | ${(u.usedMemoryMiB.last / t.usedMemoryMiB.last).toFixed(1)}× the memory without trimming | ${m} | \`${r.command}\` |`,
    );
  } else if (r.benchmark === 'ranking') {
    rows.push(
      `| ranking, ${r.setup.papers.toLocaleString('en')} papers | one subscriber p50/p99 ${r.oneSubscriberMs.p50}/${r.oneSubscriberMs.p99} ms; batch of ${r.batch.subscribers} ${r.batch.ms} ms | naive (in Node) ${r.naiveOneSubscriberMs.p50} ms | ${r.ratios.naiveOverPaperboyOneSubscriber}× faster | ${m} | \`${r.command}\` |`,
    );
  }
}
console.log(rows.join('\n'));

// Where the signup API's CPU goes, per request, in each level's median round; and each level's
// rate against the bare route's best level (its ceiling on this machine, whatever the load).
const signups = results.filter((r) => r.benchmark === 'signup-api' && r.paperboy.cpuMicrosecondsPerRequest);
if (signups.length) {
  const bestBare = Math.max(...signups.map((r) => r.bareFastify.requestsPerSecond));
  const us = (cpu: Record<string, number>, role: string) => cpu[role] ?? '–';
  const total = (cpu: Record<string, number>) => Object.values(cpu).reduce((a, b) => a + b, 0);
  const lines = [
    '',
    "| signup API | api process | PostgreSQL | Redis | autocannon | all, per request | machine busy | bare route: server, autocannon, all | machine busy | of the bare route's best level |",
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of signups) {
    const p = r.paperboy.cpuMicrosecondsPerRequest;
    const b = r.bareFastify.cpuMicrosecondsPerRequest;
    lines.push(
      `| ${r.setup.connections} connections | ${us(p, 'server')} µs | ${us(p, 'postgres')} µs | ${us(p, 'redis')} µs | ${us(p, 'loadGenerator')} µs | ${total(p)} µs | ${Math.round(r.paperboy.machineBusy * 100)}% | ${us(b, 'server')}, ${us(b, 'loadGenerator')}, ${total(b)} µs | ${Math.round(r.bareFastify.machineBusy * 100)}% | ${(r.paperboy.requestsPerSecond / bestBare).toFixed(2)} (of ${bestBare} req/s) |`,
    );
  }
  console.log(lines.join('\n'));
}
