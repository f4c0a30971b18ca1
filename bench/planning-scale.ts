/**
 * Planning at scale: claim, rank and record digests for up to a million subscribers, without
 * sending, and the time each successive 100,000 took: flat means no step grows with the table.
 *
 *   npx tsx bench/planning-scale.ts [--subscribers 1000000] [--papers 3000] [--step 100000] [--voters 0.1]
 *
 * Set-up as the digest throughput benchmark (topic mixes, time zones, papers with signals). The
 * reference is the run itself: the last step's time over the first. The query plans of the claim
 * and of the pick, on the full tables, are saved and checked for sequential scans.
 *
 * With `--voters share`, that share of the subscribers voted and has a model (bench/support.ts
 * insertVoters and trainVoters, as in the digest benchmark): the planner's personal path picks
 * their digests, and the plans of its per-batch queries (who is personal, what they were sent
 * among their candidates) are checked too.
 */
import { readFileSync } from 'node:fs';
import { parseNamedQueries } from '../services/core/sql.ts';
import { createDigestStore } from '../services/digests/store.ts';
import { rankSince } from '../services/papers/ranking.ts';
import {
  analyzeSetUp,
  arg,
  benchServices,
  explainNested,
  insertPapers,
  insertSubscribers,
  insertVoters,
  personalCost,
  saveResult,
  trainVoters,
  ZONES,
} from './support.ts';

const N = arg('subscribers', 1_000_000);
const PAPERS = arg('papers', 3000);
const STEP = Math.min(arg('step', 100_000), N);
const VOTERS = arg('voters', 0);

const bench = await benchServices({ DIGEST_BATCH_SIZE: '200' });
const { db, planner } = bench.services;
console.log(`planning at scale: ${N} subscribers, ${PAPERS} papers`);
await insertPapers(db, PAPERS, 7);
await bench.services.papers.refreshTrends(new Date());
const T = new Date();
const setUpStart = performance.now();
await insertSubscribers(db, N, T, ZONES);
await analyzeSetUp(db);
let voters = 0;
let trainMsPerModel = 0;
if (VOTERS > 0) {
  voters = await insertVoters(db, VOTERS, T);
  trainMsPerModel = await trainVoters(db, rankSince(T, bench.config.rankWindowDays));
  await db.query('ANALYZE deliveries, delivery_papers');
}
console.log(
  `set-up: ${((performance.now() - setUpStart) / 1000).toFixed(0)} s` +
    (voters ? `; ${voters} voters with models (training one: ${trainMsPerModel.toFixed(1)} ms of CPU)` : ''),
);

// --- Paperboy: batches of 200, timed per step -------------------------------------------------
const steps: number[] = [];
let planned = 0;
let stepStart = performance.now();
const start = performance.now();
await planner.planAll(T, async (b) => {
  planned += b.claimed;
  if (planned >= (steps.length + 1) * STEP) {
    steps.push((performance.now() - stepStart) / 1000);
    console.log(`${planned} planned; last ${STEP}: ${steps.at(-1)?.toFixed(1)} s`);
    stepStart = performance.now();
  }
});
const totalSeconds = (performance.now() - start) / 1000;
// The personal path alone, per reader with a model (after the run: their digests are planned, so
// what they were sent is a day's worth, as on any later day).
const personal =
  voters >= 400
    ? await personalCost(db, rankSince(T, bench.config.rankWindowDays), Math.min(10, Math.floor(voters / 200) - 1))
    : undefined;
if (personal) console.log(`the personal path alone: ${JSON.stringify(personal)}`);
// The plans of the claim and of the pick on the full tables, run for the next day and rolled back.
const tomorrow = new Date(T.getTime() + 86_400_000);
const claimPlan = await createDigestStore(db).explainClaimDue(tomorrow, 200);
const pickPlan = await explainNested(
  db,
  'SELECT * FROM paperboy_pick_for((SELECT array_agg(id) FROM (SELECT id FROM subscribers ORDER BY id DESC LIMIT 200) s), $1)',
  [rankSince(tomorrow, 7)],
);
// The personal path's per-batch queries, for the last 200 subscribers (voters among them).
const interestsSql = parseNamedQueries(
  readFileSync(new URL('../services/interests/interests.sql', import.meta.url), 'utf8'),
) as Map<string, string>;
const lastIds = '(SELECT array_agg(id) FROM (SELECT id FROM subscribers ORDER BY id DESC LIMIT 200) s)';
const personalPlan = await explainNested(
  db,
  (interestsSql.get('personal-readers') as string).replace('$1::bigint[]', `${lastIds}::bigint[]`),
  [],
);
const sentPlan = await explainNested(db, interestsSql.get('sent-among') as string, [
  JSON.stringify(
    (await db.query<{ id: string }>('SELECT id FROM subscribers ORDER BY id DESC LIMIT 200')).rows.map((r) => ({
      subscriber_id: Number(r.id),
      older: [1, 2, 3],
    })),
  ),
  (await db.query<{ id: string }>('SELECT min(id) AS id FROM papers')).rows[0]?.id,
]);

// The tables that grow with the list; a scan of papers (a few thousand) is the planner's choice.
const seqScans =
  (claimPlan + pickPlan + personalPlan + sentPlan).match(
    /Seq Scan on (subscribers|deliveries|delivery_papers|paper_votes|follows|reader_models)\b/g,
  ) ?? [];
const result = {
  benchmark: 'planning-scale',
  command: `npx tsx bench/planning-scale.ts --subscribers ${N} --papers ${PAPERS} --step ${STEP}${VOTERS ? ` --voters ${VOTERS}` : ''}`,
  setup: { subscribers: N, papers: PAPERS, batchSize: 200, voters, trainingCpuMsPerModel: +trainMsPerModel.toFixed(1) },
  paperboy: {
    planned,
    seconds: +totalSeconds.toFixed(1),
    subscribersPerSecond: Math.round(planned / totalSeconds),
    secondsPerStep: steps.map((s) => +s.toFixed(1)),
    lastStepOverFirst: +((steps.at(-1) ?? 0) / (steps[0] ?? 1)).toFixed(2),
  },
  personalPath: personal,
  plans: {
    sequentialScansOfGrowingTables: [...new Set(seqScans)],
    claim: claimPlan,
    pick: pickPlan,
    personalReaders: personalPlan,
    sentAmong: sentPlan,
  },
};
console.log(JSON.stringify(result, null, 2));
console.log(`written to ${saveResult(`planning-scale-${N}${voters ? '-voters' : ''}`, result)}`);
await bench.close();
process.exit(0);
