/**
 * Relevance's cost per subscriber, on CPU alone: picking one reader's digest from ~400 candidate
 * papers (what planning would do per reader with a model), against a naive reference in the same
 * run that tokenizes and weighs every candidate's text per reader; training on a vote; the stored
 * model's size; and preparing a planning run's papers once.
 *
 *   npx tsx bench/relevance-scoring.ts [--readers 2000] [--candidates 400] [--window 3000]
 *
 * The papers are the seed page's and the fixtures' text, recombined (a title with another
 * paper's abstract) up to the window's size, so term statistics stay those of real abstracts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../services/core/paths.ts';
import { parseSeedPage } from '../services/papers/sources/seed-page.ts';
import { Featurizer, type PaperText } from '../services/relevance/features.ts';
import { type ReaderModel, trainModel, type Vote } from '../services/relevance/model.ts';
import { rankedList } from '../services/relevance/order.ts';
import { type Candidate, Picker } from '../services/relevance/pick.ts';
import { Scorer } from '../services/relevance/scorer.ts';
import { tokenize } from '../services/relevance/text.ts';
import { prng } from './seeded.ts';
import { arg } from './support.ts';

const READERS = arg('readers', 2000);
const CANDIDATES = arg('candidates', 400);
const WINDOW = arg('window', 3000);
const DIGEST = 10;

const random = prng(7);
const pickOne = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;

/** CPU microseconds (user + system) that `fn` takes. */
function cpu(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

const seed = parseSeedPage(readFileSync(path.join(ROOT, 'seeds/000_beef877ba1362dc4.txt'), 'utf8')).papers;
const window: (PaperText & { id: number; trendScore: number })[] = Array.from({ length: WINDOW }, (_, i) => {
  const a = seed[i % seed.length] as (typeof seed)[0];
  const b = seed[(i * 7 + Math.floor(i / seed.length)) % seed.length] as (typeof seed)[0];
  return {
    id: i + 1,
    title: i < seed.length ? a.title : `${a.title.split(':')[0]}: ${b.title}`,
    abstract: i < seed.length ? a.abstract : `${b.abstract} ${a.abstract.slice(0, 300)}`,
    authors: [`Author ${i % 500}`, `Author ${(i * 13) % 500}`],
    trendScore: 100 / (1 + i) + random(),
  };
});

// Once per planning run: the window's features (the planner process would cache these).
let featurizer = new Featurizer();
const prepare = cpu(() => {
  featurizer = new Featurizer();
  featurizer.fit(window);
});
const candidates = new Map<number, Candidate>();
const prepareFeatures = cpu(() => {
  for (const p of window) {
    candidates.set(p.id, {
      id: p.id,
      title: p.title,
      authors: p.authors ?? [],
      organizations: [],
      features: featurizer.features(p),
      trendScore: p.trendScore,
      trendReason: `#${p.id} trending`,
      attention: 0,
    });
  }
});

const TOPICS = ['retrieval', 'lora', 'in-context learning', 'continual learning', 'prompt tuning', 'multimodal'];
const background = window.slice(0, 128).map((p) => (candidates.get(p.id) as Candidate).features.vector);

interface SimReader {
  topics: string[];
  model: ReaderModel;
  /** ~400 candidates: their topic list and the trending list, as ranked_lists holds them. */
  pool: number[];
  sent: Set<number>;
}

// Readers with 5–30 votes each.
const trainCpu: number[] = [];
const readers: SimReader[] = [];
for (let r = 0; r < READERS; r++) {
  const topics = random() < 0.3 ? [] : [pickOne(TOPICS), ...(random() < 0.4 ? [pickOne(TOPICS)] : [])];
  const votes: Vote[] = [];
  const n = 5 + Math.floor(random() * 26);
  for (let v = 0; v < n; v++) {
    const c = candidates.get(1 + Math.floor(random() * WINDOW)) as Candidate;
    votes.push({
      paperId: c.id,
      value: random() < 0.6 ? 1 : -1,
      title: c.title,
      vector: c.features.vector,
    });
  }
  let model: ReaderModel | undefined;
  // A vote retrains the reader's model from all their votes: that is the cost of one vote.
  trainCpu.push(cpu(() => (model = trainModel(featurizer, { votes, topics, background }))));
  const start = Math.floor(random() * (WINDOW - CANDIDATES));
  const pool = Array.from({ length: CANDIDATES }, (_, i) => start + i + 1);
  readers.push({ topics, model: model as ReaderModel, pool, sent: new Set(pool.filter(() => random() < 0.1)) });
}

const picker = new Picker(featurizer);
const listFor = (r: SimReader) =>
  rankedList(
    r.pool.map((id) => ({ id, trendScore: (candidates.get(id) as Candidate).trendScore, matches: [] })),
    [],
    CANDIDATES,
  );
const lists = readers.map(listFor);

// Warm up both paths, then alternate them in rounds so both see the same machine.
const pickOptimised = (r: SimReader, i: number) =>
  picker.pick({
    reader: { topics: r.topics, maxPapers: DIGEST, model: r.model },
    list: lists[i] as ReturnType<typeof listFor>,
    papers: candidates,
    isSent: (id) => r.sent.has(id),
  });

/**
 * The naive reference: per reader, every candidate's title and abstract tokenized and weighed
 * again, the model a Map from term to weight, topics matched by tokenizing, then sorted.
 */
function pickNaive(r: SimReader): number[] {
  const weights = new Map(r.model.terms.map((t, i) => [t, r.model.weights[i] as number]));
  const topicTerms = r.topics.map((t) => tokenize(t));
  const scored: { id: number; score: number }[] = [];
  for (const id of r.pool) {
    if (r.sent.has(id)) continue;
    const p = window[id - 1] as (typeof window)[0];
    const counts = new Map<string, number>();
    for (const t of tokenize(p.title)) counts.set(t, (counts.get(t) ?? 0) + 2);
    for (const t of tokenize(p.abstract ?? '')) counts.set(t, (counts.get(t) ?? 0) + 1);
    let s = 0;
    let norm = 0;
    for (const [term, tf] of counts) {
      const id2 = featurizer.vocab.id(term);
      const w = (1 + Math.log(tf)) * (id2 === undefined ? 1 : featurizer.idf(id2));
      norm += w * w;
      s += w * (weights.get(term) ?? 0);
    }
    const words = new Set(counts.keys());
    const hits = topicTerms.filter((ts) => ts.length > 0 && ts.every((t) => words.has(t))).length;
    scored.push({ id, score: s / Math.sqrt(norm || 1) + hits + 0.3 * Math.log(p.trendScore) });
  }
  return scored
    .sort((a, b) => b.score - a.score || a.id - b.id)
    .slice(0, DIGEST)
    .map((x) => x.id);
}

// Warm-up: every reader once, so the timed blocks run optimised code.
for (let i = 0; i < READERS; i++) pickOptimised(readers[i] as SimReader, i);
for (let i = 0; i < 50; i++) pickNaive(readers[i] as SimReader);
// Blocks in turn: every reader by the module, then the naive reference over a sample of them
// (it is two orders of magnitude slower), five times; interleaving per reader would make each
// path pay for the other's garbage. The medians are the figures.
const optimisedCpu: number[] = [];
const naiveCpu: number[] = [];
const NAIVE_SAMPLE = Math.min(READERS, 100);
for (let block = 0; block < 5; block++) {
  optimisedCpu.push(
    cpu(() => {
      for (let i = 0; i < READERS; i++) pickOptimised(readers[i] as SimReader, i);
    }) / READERS,
  );
  naiveCpu.push(
    cpu(() => {
      for (let i = 0; i < NAIVE_SAMPLE; i++) pickNaive(readers[i] as SimReader);
    }) / NAIVE_SAMPLE,
  );
}
// Scoring alone: load the model, one dot product per candidate.
const scoreOnly =
  cpu(() => {
    const scorer = new Scorer(featurizer.vocab);
    for (const r of readers) {
      scorer.load(r.model);
      for (const id of r.pool) scorer.score((candidates.get(id) as Candidate).features.vector);
    }
  }) / READERS;

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] as number;
const p99 = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * 0.99)] as number;
const bytes = readers.map((r) => Buffer.byteLength(JSON.stringify(r.model)));
// As PostgreSQL would store it (proposed schema, docs/relevance.md): terms text[] and weights
// real[] (a 4-byte length per text, 4 bytes per real, ~24 bytes of array header each), the liked
// papers as jsonb.
const sqlBytes = readers.map((r) => {
  const m = r.model;
  const terms = 24 + m.terms.reduce((s, t) => s + 4 + Buffer.byteLength(t), 0);
  const weights = 24 + 4 * m.weights.length;
  return terms + weights + 8 + Buffer.byteLength(JSON.stringify(m.liked));
});

const opt = median(optimisedCpu);
const naive = median(naiveCpu);
console.log(
  `${READERS} readers with a model (5–30 votes, 0–2 topics), ${CANDIDATES} candidates each, window of ${WINDOW} papers`,
);
console.log(
  `pick one digest (score, blend, top 10, reasons): ${opt.toFixed(1)} µs CPU per reader (median of 5 blocks: ${optimisedCpu.map((x) => x.toFixed(0)).join(', ')})`,
);
console.log(`  of which loading the model and ${CANDIDATES} dot products: ${scoreOnly.toFixed(1)} µs`);
console.log(
  `naive reference (tokenize and weigh every candidate per reader, ${NAIVE_SAMPLE} readers): ${naive.toFixed(1)} µs CPU per reader`,
);
console.log(`  → ${(naive / opt).toFixed(1)}× faster than the naive reference`);
console.log(
  `training on a vote (all the reader's votes + 128 background papers): median ${(median(trainCpu) / 1000).toFixed(2)} ms CPU, p99 ${(p99(trainCpu) / 1000).toFixed(2)} ms`,
);
console.log(
  `stored model: JSON median ${median(bytes)} B (max ${Math.max(...bytes)}); as text[] + real[] + jsonb about ${median(sqlBytes)} B`,
);
console.log(
  `preparing a planning run's window once: document frequencies ${(prepare / 1000).toFixed(0)} ms, features ${(prepareFeatures / 1000).toFixed(0)} ms CPU for ${WINDOW} papers`,
);
for (const n of [100_000, 1_000_000]) {
  console.log(
    `  ${n.toLocaleString('en')} readers with a model: ${((n * opt) / 1e6).toFixed(1)} s CPU of picking per planning run`,
  );
}
