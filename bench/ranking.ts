/**
 * Ranking: time to pick one subscriber's papers, and to plan a batch of 1,000, with 100,000 papers
 * in the table; the naive reference ranks in Node (load every fresh paper, match topics, sort).
 *
 *   npx tsx bench/ranking.ts [--papers 100000] [--batch 200]
 */
import { rankSince } from '../services/papers/ranking.ts';
import { createPaperRepository } from '../services/papers/repository.ts';
import {
  analyzeSetUp,
  arg,
  benchServices,
  insertPapers,
  insertSubscribers,
  percentile,
  saveResult,
} from './support.ts';

const PAPERS = arg('papers', 100_000);
const BATCH = arg('batch', 200);

const bench = await benchServices({ DIGEST_BATCH_SIZE: String(BATCH) });
const { db } = bench.services;
await insertPapers(db, PAPERS, 30);
const refreshStart = performance.now();
await bench.services.papers.refreshTrends(new Date());
const refreshMs = performance.now() - refreshStart;
const now = new Date();
await insertSubscribers(db, BATCH, now);
await analyzeSetUp(db);
const since = rankSince(now, 14);

// One subscriber at a time, as `paperboy rank` does.
const single: number[] = [];
for (let id = 1; id <= 200; id++) {
  const t = performance.now();
  await createPaperRepository(db).previewPicks(id, since);
  single.push(performance.now() - t);
}
single.sort((a, b) => a - b);

// The naive reference: every fresh paper to Node, match and sort there, per subscriber.
const naive: number[] = [];
for (let id = 1; id <= 20; id++) {
  const t = performance.now();
  const topics =
    (await db.query<{ topics: string[] }>('SELECT topics FROM subscribers WHERE id = $1', [id])).rows[0]?.topics ?? [];
  const { rows } = await db.query<{ id: number; title: string; abstract: string; trend_score: number }>(
    'SELECT id, title, abstract, trend_score FROM papers WHERE fresh_at >= $1',
    [since],
  );
  const match = (p: { title: string; abstract: string }) =>
    topics.some((t) => `${p.title} ${p.abstract}`.toLowerCase().includes(t));
  rows.sort((a, b) => Number(match(b)) - Number(match(a)) || b.trend_score - a.trend_score).slice(0, 10);
  naive.push(performance.now() - t);
}
naive.sort((a, b) => a - b);

// A whole planning batch: claim, record deliveries, pick and record papers, in one transaction.
const t = performance.now();
const planned = await bench.services.planner.planBatch(now);
const batchMs = performance.now() - t;

const result = {
  benchmark: 'ranking',
  command: `npx tsx bench/ranking.ts --papers ${PAPERS} --batch ${BATCH}`,
  setup: { papers: PAPERS, batch: BATCH, topicsPerSubscriber: '0 for a third, 2 for the rest' },
  refreshTrendScoresMs: Math.round(refreshMs),
  oneSubscriberMs: { p50: +percentile(single, 50).toFixed(2), p99: +percentile(single, 99).toFixed(2) },
  naiveOneSubscriberMs: { p50: +percentile(naive, 50).toFixed(1) },
  batch: {
    subscribers: planned.claimed,
    ms: Math.round(batchMs),
    msPerSubscriber: +(batchMs / planned.claimed).toFixed(2),
  },
  ratios: { naiveOverPaperboyOneSubscriber: Math.round(percentile(naive, 50) / percentile(single, 50)) },
};
console.log(JSON.stringify(result, null, 2));
console.log(`written to ${saveResult(`ranking-${PAPERS}`, result)}`);
await bench.close();
process.exit(0);
