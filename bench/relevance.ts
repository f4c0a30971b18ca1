/**
 * Relevance, measured offline: simulated readers, each with a hidden interest, receive a digest of
 * 10 papers a day from the papers not yet sent to them and vote on what they get as a person
 * would. Precision@10 and NDCG@10 per day for trending only, topics only (today's order), topics
 * graded by strength, the learned model and the learned model without topics, in one
 * deterministic run (seeded), over the papers the repository ships: the seed page and the arXiv
 * and Hugging Face fixtures. A reader's interest is the papers whose title matches their family's
 * expression (FAMILIES); their topics are what such a person would type. docs/relevance.md
 * explains the set-up and records the figures.
 *
 *   npx tsx bench/relevance.ts [--days 5] [--seeds 10] [--variants] [--only name,name]
 *
 * `--variants` adds the measurements behind the module's defaults (stemming, terms per paper,
 * title weight, Rocchio against logistic regression, term weights kept per reader, the blend's
 * weights); `--only` runs the named ones.
 *
 * The digest source is pluggable (DigestSource): here the module in memory; a source backed by
 * the service signs the readers up, plans digests day by day, reads them from the SMTP sink and
 * votes through the mail's links, naming papers by the ids of this corpus (by title key).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../services/core/paths.ts';
import type { PaperInput } from '../services/papers/model.ts';
import { titleKey } from '../services/papers/normalize.ts';
import { parseArxivAtom } from '../services/papers/sources/arxiv-atom.ts';
import { parseHfDaily } from '../services/papers/sources/hf-daily.ts';
import { parseSeedPage } from '../services/papers/sources/seed-page.ts';
import { type FeatureOptions, Featurizer, type SparseVector } from '../services/relevance/features.ts';
import { type ReaderModel, type TrainOptions, trainModel, type Vote } from '../services/relevance/model.ts';
import { rankedList } from '../services/relevance/order.ts';
import { attentionPoints, type Blend, type Candidate, DEFAULT_BLEND, Picker } from '../services/relevance/pick.ts';
import { prng } from './seeded.ts';
import { arg } from './support.ts';

const DAYS = arg('days', 5);
const SEEDS = arg('seeds', 10);
const DIGEST = 10;
const VARIANTS = process.argv.includes('--variants');
const ONLY = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1]?.split(',') : undefined;

// ---------------------------------------------------------------------------------------------
// The corpus: what `paperboy seed` and the two fixtures ingest, one paper per arXiv id or title.

export interface BenchPaper extends PaperInput {
  id: number;
  trendScore: number;
  trendReason: string;
}

function loadCorpus(): BenchPaper[] {
  const read = (p: string) => readFileSync(path.join(ROOT, p), 'utf8');
  const inputs = [
    ...parseSeedPage(read('seeds/000_beef877ba1362dc4.txt')).papers,
    ...parseArxivAtom(read('test/fixtures/arxiv-cs-lg.atom')).papers,
    ...parseHfDaily(read('test/fixtures/hf-daily-papers.json')).papers,
  ];
  const byKey = new Map<string, PaperInput>();
  for (const p of inputs) {
    const key = p.arxivId ?? titleKey(p.title);
    const same = byKey.get(key) ?? byKey.get(titleKey(p.title));
    if (same) Object.assign(same, Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)));
    else byKey.set(key, { ...p });
  }
  return [...byKey.values()].map((p, i) => ({ ...p, id: i + 1, ...trendAtDayZero(p) }));
}

/**
 * ranking.sql's trend score for papers that all became news at the start of the run: age 0, and
 * every point gained within the day (gain = points), so score = (1 + 4·points + 100/seed position) / 2^1.5.
 */
function trendAtDayZero(p: PaperInput): { trendScore: number; trendReason: string } {
  const points = attentionPoints(p);
  const seed = p.seedPosition ? 100 / p.seedPosition : 0;
  const reason = [
    p.upvotes ? `+${p.upvotes} upvotes today` : undefined,
    p.githubStars ? `+${p.githubStars} GitHub stars today` : undefined,
    p.comments ? `${p.comments} comment${p.comments === 1 ? '' : 's'}` : undefined,
    p.seedPosition ? `#${p.seedPosition} on the trending page` : undefined,
  ]
    .filter(Boolean)
    .join(', ');
  return {
    trendScore: (1 + points + 3 * points + seed) / 2 ** 1.5,
    trendReason: reason || `new${p.categories?.[0] ? ` in ${p.categories[0]}` : ''}`,
  };
}

// ---------------------------------------------------------------------------------------------
// Readers. Each has a hidden interest: the papers whose title names the family (a person
// subscribes for what papers are about, not for every abstract that mentions a word), and the
// topics they would type, which approximate it. One reader per family.

export interface SimReader {
  name: string;
  topics: readonly string[];
  interest: ReadonlySet<number>;
}

const FAMILIES = {
  peft: {
    name: 'parameter-efficient tuning',
    title: /\blora|low[- ]rank|\badapters?\b|parameter[- ]efficient|\bpeft\b/i,
    topic: 'lora',
  },
  retrieval: { name: 'retrieval', title: /retriev|\brag\b|search|rerank|passage/i, topic: 'retrieval' },
  icl: { name: 'in-context learning', title: /in[- ]context|exemplar|demonstration/i, topic: 'in-context learning' },
  continual: {
    name: 'continual learning',
    title: /continual|lifelong|forgetting|incremental/i,
    topic: 'continual learning',
  },
  attention: {
    name: 'attention and mechanisms',
    title: /attention|\bheads?\b|circuit|mechanis/i,
    topic: 'attention heads',
  },
  instruction: { name: 'instruction tuning', title: /instruction/i, topic: 'instruction tuning' },
  prompting: { name: 'prompting', title: /prompt/i, topic: 'prompt tuning' },
  vision: {
    name: 'vision and multimodal',
    title: /vision|visual|image|video|multimodal|multi-modal|\bvits?\b/i,
    topic: 'multimodal',
  },
  multitask: {
    name: 'multi-task transfer',
    title: /multi-?task|cross-task|task vector|task arith|intermediate task|source task/i,
    topic: 'multi-task learning',
  },
} as const;

type Family = keyof typeof FAMILIES;

/** One reader per family, and two whose interest is two families (with a topic for each). */
const READERS: Family[][] = [
  ['peft'],
  ['retrieval'],
  ['icl'],
  ['continual'],
  ['attention'],
  ['instruction'],
  ['prompting'],
  ['vision'],
  ['multitask'],
  ['retrieval', 'icl'],
  ['peft', 'continual'],
];

function readers(corpus: readonly BenchPaper[]): SimReader[] {
  return READERS.map((families) => {
    const fs = families.map((f) => FAMILIES[f]);
    return {
      name: fs.map((f) => f.name).join(' + '),
      topics: fs.map((f) => f.topic),
      interest: new Set(corpus.filter((p) => fs.some((f) => f.title.test(p.title))).map((p) => p.id)),
    };
  });
}

/** How a person votes on a digest: likes most of what they care about, dislikes some of the rest. */
const VOTING = { likeInterest: 0.8, dislikeOther: 0.3, likeOther: 0.03 };

// ---------------------------------------------------------------------------------------------
// Where digests come from.

/** What the benchmark asks of a digest source: the offline model here, the real service later. */
export interface DigestSource {
  readonly name: string;
  /** The reader signs up (with their topics, or none). */
  subscribe(reader: SimReader): Promise<void>;
  /** The reader's next digest, best first: paper ids. */
  digest(reader: SimReader): Promise<number[]>;
  /** The reader clicks "More like this" (+1) or "Less like this" (−1) under a paper of their digest. */
  vote(reader: SimReader, paperId: number, value: 1 | -1): Promise<void>;
}

interface OfflineOptions {
  withTopics: boolean;
  learns: boolean;
  /** Without votes, topic strength, attention and trend instead of today's order (Reader.gradedTopics). */
  graded?: boolean;
  features?: FeatureOptions;
  train?: TrainOptions;
  blend?: Blend;
}

interface ReaderState {
  sent: Set<number>;
  votes: Vote[];
  model?: ReaderModel;
  stale?: boolean;
}

/** services/relevance over the corpus in memory: today's order, then the learned model. */
class OfflineSource implements DigestSource {
  private readonly featurizer: Featurizer;
  private readonly picker: Picker;
  private readonly papers = new Map<number, Candidate>();
  private readonly vectors = new Map<number, SparseVector>();
  private readonly background: SparseVector[];
  private readonly state = new Map<string, ReaderState>();
  /** CPU milliseconds of each training and each digest's pick, and each trained model's size. */
  readonly trainMs: number[] = [];
  readonly pickMs: number[] = [];
  readonly modelBytes: number[] = [];

  constructor(
    readonly name: string,
    private readonly corpus: readonly BenchPaper[],
    private readonly options: OfflineOptions,
  ) {
    this.featurizer = new Featurizer(options.features);
    this.featurizer.fit(corpus.map(text));
    for (const p of corpus) {
      const features = this.featurizer.features(text(p));
      this.vectors.set(p.id, features.vector);
      this.papers.set(p.id, {
        id: p.id,
        title: p.title,
        authors: p.authors ?? [],
        organizations: p.organization ? [p.organization] : [],
        features,
        trendScore: p.trendScore,
        trendReason: p.trendReason,
        attention: attentionPoints(p),
      });
    }
    this.picker = new Picker(this.featurizer, options.blend ?? DEFAULT_BLEND);
    // The rest of the world for training: every fourth paper.
    this.background = corpus.filter((p) => p.id % 4 === 0).map((p) => this.vectors.get(p.id) as SparseVector);
  }

  async subscribe(reader: SimReader) {
    this.state.set(reader.name, { sent: new Set(), votes: [] });
  }

  private reader(r: SimReader): ReaderState {
    const s = this.state.get(r.name);
    if (!s) throw new Error(`${r.name} has not subscribed`);
    return s;
  }

  async digest(r: SimReader): Promise<number[]> {
    const s = this.reader(r);
    this.train(r, s);
    const topics = this.options.withTopics ? r.topics : [];
    const start = process.cpuUsage();
    // Topic matches as the database would find them: the module's matcher stands in for
    // PostgreSQL's full-text search here.
    const phrases = topics.map((t) => ({ t, ids: this.featurizer.termsOf(t) }));
    const listed = this.corpus.map((p) => {
      const terms = (this.papers.get(p.id) as Candidate).features.textTerms;
      return {
        id: p.id,
        trendScore: p.trendScore,
        matches: phrases
          .filter((ph) => ph.ids.length > 0 && ph.ids.every((id) => id !== undefined && terms.includes(id)))
          .map((ph) => ph.t),
      };
    });
    const picks = this.picker.pick({
      reader: { topics, maxPapers: DIGEST, model: s.model, gradedTopics: this.options.graded },
      list: rankedList(listed, topics),
      papers: this.papers,
      extra: this.corpus.map((p) => p.id),
      isSent: (id) => s.sent.has(id),
    });
    const used = process.cpuUsage(start);
    this.pickMs.push((used.user + used.system) / 1000);
    for (const p of picks) s.sent.add(p.paperId);
    const days = this.digests.get(r.name) ?? [];
    days.push(picks.map((p) => ({ id: p.paperId, reason: p.reason })));
    this.digests.set(r.name, days);
    return picks.map((p) => p.paperId);
  }

  /** Each reader's digests with their reasons, to show. */
  readonly digests = new Map<string, { id: number; reason: string }[][]>();

  async vote(r: SimReader, paperId: number, value: 1 | -1) {
    if (!this.options.learns) return;
    const s = this.reader(r);
    const paper = this.papers.get(paperId) as Candidate;
    s.votes.push({ paperId, value, title: paper.title, vector: paper.features.vector });
    s.stale = true;
  }

  /**
   * Retrains a reader whose votes changed since their last digest. The service trains once per
   * vote (a job per vote, deduplicated per reader); trained once before each digest instead, the
   * model a digest sees is the same and the run is shorter.
   */
  private train(r: SimReader, s: ReaderState): void {
    if (!s.stale) return;
    s.stale = false;
    const start = process.cpuUsage();
    s.model = trainModel(
      this.featurizer,
      {
        votes: s.votes,
        topics: this.options.withTopics ? r.topics : [],
        background: this.background,
      },
      this.options.train,
    );
    const used = process.cpuUsage(start);
    this.trainMs.push((used.user + used.system) / 1000);
    if (s.model) this.modelBytes.push(Buffer.byteLength(JSON.stringify(s.model)));
  }
}

const text = (p: PaperInput) => ({
  title: p.title,
  abstract: p.abstract,
  keywords: p.keywords,
  authors: p.authors,
  organizations: p.organization ? [p.organization] : [],
});

// ---------------------------------------------------------------------------------------------
// The run.

interface DayScore {
  precision: number;
  ndcg: number;
}

/** precision@10 and NDCG@10 (binary gain; the ideal puts the interest not yet sent first). */
function scoreDigest(ids: readonly number[], interest: ReadonlySet<number>, remaining: number): DayScore {
  let dcg = 0;
  let hits = 0;
  ids.forEach((id, i) => {
    if (interest.has(id)) {
      hits++;
      dcg += 1 / Math.log2(i + 2);
    }
  });
  let ideal = 0;
  for (let i = 0; i < Math.min(DIGEST, remaining); i++) ideal += 1 / Math.log2(i + 2);
  return { precision: hits / DIGEST, ndcg: ideal > 0 ? dcg / ideal : 0 };
}

/** Every reader of `readers` through `days` digests from `source`, voting after each: scores per day. */
export async function simulate(
  source: DigestSource,
  people: readonly SimReader[],
  days: number,
  seed: number,
): Promise<DayScore[][]> {
  const perReader: DayScore[][] = [];
  for (const [i, reader] of people.entries()) {
    const random = prng(seed * 1000 + i + 1);
    await source.subscribe(reader);
    const sent = new Set<number>();
    const scores: DayScore[] = [];
    for (let day = 0; day < days; day++) {
      const digest = await source.digest(reader);
      const remaining = [...reader.interest].filter((id) => !sent.has(id)).length;
      scores.push(scoreDigest(digest, reader.interest, remaining));
      for (const id of digest) {
        sent.add(id);
        const liked = reader.interest.has(id);
        const r = random();
        if (liked ? r < VOTING.likeInterest : r < VOTING.likeOther) await source.vote(reader, id, 1);
        else if (!liked && r > 1 - VOTING.dislikeOther) await source.vote(reader, id, -1);
      }
    }
    perReader.push(scores);
  }
  return perReader;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.floor((s.length - 1) / 2)] as number) : 0;
};
const f3 = (x: number) => x.toFixed(3);

interface ArmResult {
  name: string;
  /** [day] → mean over readers and seeds */
  days: DayScore[];
  /** [reader] → mean precision on day 3 */
  day3: number[];
  /** Mean share of each reader's interest sent over the whole run. */
  recall: number;
  source: OfflineSource[];
}

async function runArm(
  name: string,
  corpus: readonly BenchPaper[],
  people: readonly SimReader[],
  options: OfflineOptions,
): Promise<ArmResult> {
  const all: DayScore[][][] = [];
  const sources: OfflineSource[] = [];
  for (let seed = 1; seed <= SEEDS; seed++) {
    const source = new OfflineSource(name, corpus, options);
    sources.push(source);
    all.push(await simulate(source, people, DAYS, seed));
  }
  const days = Array.from({ length: DAYS }, (_, d) => ({
    precision: mean(all.flatMap((s) => s.map((r) => (r[d] as DayScore).precision))),
    ndcg: mean(all.flatMap((s) => s.map((r) => (r[d] as DayScore).ndcg))),
  }));
  const day3 = people.map((_, i) => mean(all.map((s) => ((s[i] as DayScore[])[2] as DayScore).precision)));
  const recall = mean(
    all.flatMap((s) =>
      s.map((r, i) => r.reduce((sum, d) => sum + d.precision * DIGEST, 0) / (people[i] as SimReader).interest.size),
    ),
  );
  return { name, days, day3, recall, source: sources };
}

const corpus = loadCorpus();
const people = readers(corpus);
console.log(
  `${corpus.length} papers (seed page and fixtures); ${people.length} readers, ${DAYS} daily digests of ${DIGEST}, ` +
    `${SEEDS} seeds of voting (like ${VOTING.likeInterest} of their interest, dislike ${VOTING.dislikeOther} of the rest, ` +
    `like ${VOTING.likeOther} of the rest by mistake)`,
);
for (const r of people)
  console.log(
    `  ${r.name.padEnd(28)} interest ${String(r.interest.size).padStart(3)} papers, topics: ${r.topics.join(', ')}`,
  );

const arms = [
  await runArm('trending only', corpus, people, { withTopics: false, learns: false }),
  await runArm('topics only', corpus, people, { withTopics: true, learns: false }),
  await runArm('topics, graded', corpus, people, { withTopics: true, learns: false, graded: true }),
  await runArm('learned', corpus, people, { withTopics: true, learns: true }),
  await runArm('learned, no topics', corpus, people, { withTopics: false, learns: true }),
];

console.log('\nper day, mean over readers and seeds: precision@10 / NDCG@10 (day 1: nobody has voted yet)');
const W = 20;
console.log(`${'day'.padEnd(28)}${arms.map((a) => a.name.padStart(W)).join('')}`);
for (let d = 0; d < DAYS; d++) {
  const cells = arms.map((a) => `${f3((a.days[d] as DayScore).precision)} / ${f3((a.days[d] as DayScore).ndcg)}`);
  console.log(`${String(d + 1).padEnd(28)}${cells.map((c) => c.padStart(W)).join('')}`);
}
console.log(`${`interest sent in ${DAYS} days`.padEnd(28)}${arms.map((a) => f3(a.recall).padStart(W)).join('')}`);

console.log(`\n${'day 3 precision@10'.padEnd(48)}${arms.map((a) => a.name.padStart(W)).join('')}`);
for (const [i, r] of people.entries()) {
  console.log(`${r.name.padEnd(48)}${arms.map((a) => f3(a.day3[i] as number).padStart(W)).join('')}`);
}

const [trending, topicsOnly, , learned] = arms as [ArmResult, ArmResult, ArmResult, ArmResult];
const day3 = (a: ArmResult) => (a.days[2] as DayScore).precision;
console.log(
  `\nafter two digests with votes (day 3): learned ${f3(day3(learned))} = ${(day3(learned) / day3(trending)).toFixed(2)}× trending only ` +
    `(${f3(day3(trending))}; aim ≥ 3×), topics only ${f3(day3(topicsOnly))} (aim: learned higher)`,
);
const learnedSources = learned.source;
console.log(
  `CPU: training median ${median(learnedSources.flatMap((s) => s.trainMs)).toFixed(2)} ms, ` +
    `max ${Math.max(...learnedSources.flatMap((s) => s.trainMs)).toFixed(2)} ms; ` +
    `stored model (JSON) median ${median(learnedSources.flatMap((s) => s.modelBytes))} B, max ${Math.max(...learnedSources.flatMap((s) => s.modelBytes))} B; ` +
    `a digest's pick over ${corpus.length} candidates (today's list built too) median ${median(learnedSources.flatMap((s) => s.pickMs)).toFixed(2)} ms`,
);
const shown = people.find((p) => p.topics.length > 1) ?? people[0];
const titles = new Map(corpus.map((p) => [p.id, p.title]));
const shownDigest = shown && learnedSources[0]?.digests.get(shown.name)?.[2];
if (shown && shownDigest) {
  console.log(`\n${shown.name}'s third digest (learned; ✓ in their interest):`);
  for (const p of shownDigest) {
    console.log(
      `  ${shown.interest.has(p.id) ? '✓' : ' '} ${(titles.get(p.id) ?? '').slice(0, 70)}\n      ${p.reason}`,
    );
  }
}

if (VARIANTS) {
  const variants: [string, OfflineOptions][] = [
    ['defaults', { withTopics: true, learns: true }],
    ['stemming: none', { withTopics: true, learns: true, features: { stemming: 'none' } }],
    ['stemming: plural', { withTopics: true, learns: true, features: { stemming: 'plural' } }],
    ['no hyphen compounds', { withTopics: true, learns: true, features: { compounds: false } }],
    ['bigrams', { withTopics: true, learns: true, features: { bigrams: true } }],
    ['paper terms 20', { withTopics: true, learns: true, features: { maxTerms: 20 } }],
    ['paper terms 50', { withTopics: true, learns: true, features: { maxTerms: 50 } }],
    ['paper terms 100', { withTopics: true, learns: true, features: { maxTerms: 100 } }],
    ['paper terms all', { withTopics: true, learns: true, features: { maxTerms: 100_000 } }],
    ['title weight 1', { withTopics: true, learns: true, features: { titleWeight: 1 } }],
    ['title weight 3', { withTopics: true, learns: true, features: { titleWeight: 3 } }],
    ['rocchio', { withTopics: true, learns: true, train: { kind: 'rocchio' } }],
    ['K = 16', { withTopics: true, learns: true, train: { topK: 16 } }],
    ['K = 32', { withTopics: true, learns: true, train: { topK: 32 } }],
    ['K = 128', { withTopics: true, learns: true, train: { topK: 128 } }],
    ['K = all', { withTopics: true, learns: true, train: { topK: 1_000_000 } }],
    ['blend: no trend', { withTopics: true, learns: true, blend: { ...DEFAULT_BLEND, trend: 0 } }],
    ['blend: no topic strength', { withTopics: true, learns: true, blend: { ...DEFAULT_BLEND, topic: 0 } }],
    ['blend: topic 0.5', { withTopics: true, learns: true, blend: { ...DEFAULT_BLEND, topic: 0.5 } }],
    ['blend: topic 2', { withTopics: true, learns: true, blend: { ...DEFAULT_BLEND, topic: 2 } }],
    ['blend: no attention', { withTopics: true, learns: true, blend: { ...DEFAULT_BLEND, attention: 0 } }],
    ['logistic: l2 0.01', { withTopics: true, learns: true, train: { logistic: { l2: 0.01 } } }],
    ['logistic: l2 0.2', { withTopics: true, learns: true, train: { logistic: { l2: 0.2 } } }],
    ['logistic: background 0', { withTopics: true, learns: true, train: { logistic: { background: 0 } } }],
    ['logistic: background 4', { withTopics: true, learns: true, train: { logistic: { background: 4 } } }],
    ['logistic: 50 iterations', { withTopics: true, learns: true, train: { logistic: { iterations: 50 } } }],
  ];
  console.log(
    '\nvariants of the learned model (topics + votes): precision@10 on days 2, 3, 5; mean NDCG@10 days 2–5; stored bytes median',
  );
  for (const [name, options] of variants) {
    if (ONLY && !ONLY.includes(name)) continue;
    const a = await runArm(name, corpus, people, options);
    const later = a.days.slice(1);
    console.log(
      `${name.padEnd(28)}${[1, 2, 4]
        .map((d) => f3(a.days[d]?.precision ?? Number.NaN))
        .join('  ')}   ${f3(mean(later.map((x) => x.ndcg)))}   ${median(a.source.flatMap((s) => s.modelBytes))}`,
    );
    if (ONLY) console.log(`  day 3 per reader: ${a.day3.map(f3).join(' ')}`);
  }
}
