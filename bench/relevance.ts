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
 * The corpus, the readers, the simulation and the scores are bench/relevance-sim.ts's; the digest
 * source here is the module in memory. bench/relevance-live.ts runs the same readers through the
 * service: sign-up, planning, the mail, the vote links.
 */
import { type FeatureOptions, Featurizer, type SparseVector } from '../services/relevance/features.ts';
import { type ReaderModel, type TrainOptions, trainModel, type Vote } from '../services/relevance/model.ts';
import { rankedList } from '../services/relevance/order.ts';
import { attentionPoints, type Blend, type Candidate, DEFAULT_BLEND, Picker } from '../services/relevance/pick.ts';
import {
  type ArmSummary,
  type BenchPaper,
  DIGEST,
  type DigestSource,
  f3,
  loadCorpus,
  mean,
  median,
  printArms,
  printSetUp,
  readers,
  type SimReader,
  simulate,
  summarize,
  text,
} from './relevance-sim.ts';
import { arg } from './support.ts';

const DAYS = arg('days', 5);
const SEEDS = arg('seeds', 10);
const VARIANTS = process.argv.includes('--variants');
const ONLY = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1]?.split(',') : undefined;

interface OfflineOptions {
  withTopics: boolean;
  learns: boolean;
  /** Without votes, topic strength, attention and trend instead of today's order (Reader.gradedTopics). */
  graded?: boolean;
  features?: FeatureOptions;
  train?: TrainOptions;
  blend?: Blend;
  /**
   * As the planner's personal path has it (services/digests/personal.ts): the candidates are the
   * ranked list only (the topic matches, then the 200 most trending of the rest), not every paper;
   * the background is 128 papers spread over the window in trend order, not every fourth paper.
   */
  asPlanned?: { candidates?: boolean; background?: boolean };
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
    if (options.asPlanned?.background) {
      const byTrend = [...corpus].sort((a, b) => b.trendScore - a.trendScore || a.id - b.id);
      const step = Math.max(1, Math.floor(byTrend.length / 128));
      this.background = byTrend
        .filter((_, i) => i % step === 0)
        .slice(0, 128)
        .map((p) => this.vectors.get(p.id) as SparseVector);
    } else this.background = corpus.filter((p) => p.id % 4 === 0).map((p) => this.vectors.get(p.id) as SparseVector);
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
      extra: this.options.asPlanned?.candidates ? [] : this.corpus.map((p) => p.id),
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

interface ArmResult extends ArmSummary {
  source: OfflineSource[];
}

async function runArm(
  name: string,
  corpus: readonly BenchPaper[],
  people: readonly SimReader[],
  options: OfflineOptions,
): Promise<ArmResult> {
  const all = [];
  const sources: OfflineSource[] = [];
  for (let seed = 1; seed <= SEEDS; seed++) {
    const source = new OfflineSource(name, corpus, options);
    sources.push(source);
    all.push(...(await simulate([source], people, DAYS, seed)));
  }
  return { ...summarize(name, all, people, DAYS), source: sources };
}

const corpus = loadCorpus();
const people = readers(corpus);
printSetUp(corpus, people, DAYS, SEEDS);

const arms = [
  await runArm('trending only', corpus, people, { withTopics: false, learns: false }),
  await runArm('topics only', corpus, people, { withTopics: true, learns: false }),
  await runArm('topics, graded', corpus, people, { withTopics: true, learns: false, graded: true }),
  await runArm('learned', corpus, people, { withTopics: true, learns: true }),
  await runArm('learned, no topics', corpus, people, { withTopics: false, learns: true }),
];
printArms(arms, people, DAYS);

const learned = arms[3] as ArmResult;
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
    ['as planned: ranked list only', { withTopics: true, learns: true, asPlanned: { candidates: true } }],
    ['as planned: background by trend', { withTopics: true, learns: true, asPlanned: { background: true } }],
    ['as planned: both', { withTopics: true, learns: true, asPlanned: { candidates: true, background: true } }],
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
