/**
 * What the relevance benchmarks share (bench/relevance.ts offline, bench/relevance-live.ts through
 * the service): the corpus the repository ships, the simulated readers with their hidden
 * interests, how they vote, the day-by-day simulation over a pluggable DigestSource, and the
 * scores (precision@10, NDCG@10). docs/relevance.md explains the set-up.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../services/core/paths.ts';
import type { PaperInput } from '../services/papers/model.ts';
import { titleKey } from '../services/papers/normalize.ts';
import { parseArxivAtom } from '../services/papers/sources/arxiv-atom.ts';
import { parseHfDaily } from '../services/papers/sources/hf-daily.ts';
import { parseSeedPage } from '../services/papers/sources/seed-page.ts';
import { attentionPoints } from '../services/relevance/pick.ts';
import { prng } from './seeded.ts';

/** Papers per digest. */
export const DIGEST = 10;

// ---------------------------------------------------------------------------------------------
// The corpus: what `paperboy seed` and the two fixtures ingest, one paper per arXiv id or title.

export interface BenchPaper extends PaperInput {
  id: number;
  trendScore: number;
  trendReason: string;
}

export function loadCorpus(): BenchPaper[] {
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

export function readers(corpus: readonly BenchPaper[]): SimReader[] {
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
export const VOTING = { likeInterest: 0.8, dislikeOther: 0.3, likeOther: 0.03 };

// ---------------------------------------------------------------------------------------------
// Where digests come from.

/** What the benchmark asks of a digest source: the module in memory (relevance.ts) or the service (relevance-live.ts). */
export interface DigestSource {
  readonly name: string;
  /** The reader signs up (with their topics, or none). */
  subscribe(reader: SimReader): Promise<void>;
  /** A new day begins (0 first): every reader's digest of that day is asked for after it. */
  beginDay?(day: number): Promise<void>;
  /** The reader's next digest, best first: paper ids. */
  digest(reader: SimReader): Promise<number[]>;
  /** The reader clicks "More like this" (+1) or "Less like this" (−1) under a paper of their digest. */
  vote(reader: SimReader, paperId: number, value: 1 | -1): Promise<void>;
}

export const text = (p: PaperInput) => ({
  title: p.title,
  abstract: p.abstract,
  keywords: p.keywords,
  authors: p.authors,
  organizations: p.organization ? [p.organization] : [],
});

// ---------------------------------------------------------------------------------------------
// The run.

export interface DayScore {
  precision: number;
  ndcg: number;
}

/** precision@10 and NDCG@10 (binary gain; the ideal puts the interest not yet sent first). */
export function scoreDigest(ids: readonly number[], interest: ReadonlySet<number>, remaining: number): DayScore {
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

/**
 * Every reader of `people` through `days` digests from each of `sources` (the arms), voting after
 * each, day by day: every arm's every reader gets day 1's digest and votes on it before anyone
 * gets day 2's, as on a service where one planning run sends everyone's digest. A reader votes
 * the same way in every arm (one seeded generator per reader and arm). Scores: [arm][reader][day].
 */
export async function simulate(
  sources: readonly DigestSource[],
  people: readonly SimReader[],
  days: number,
  seed: number,
): Promise<DayScore[][][]> {
  const runs = sources.map((source) =>
    people.map((reader, i) => ({
      source,
      reader,
      random: prng(seed * 1000 + i + 1),
      sent: new Set<number>(),
      scores: [] as DayScore[],
    })),
  );
  for (const run of runs.flat()) await run.source.subscribe(run.reader);
  for (let day = 0; day < days; day++) {
    for (const source of sources) await source.beginDay?.(day);
    for (const arm of runs) {
      for (const { source, reader, random, sent, scores } of arm) {
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
    }
  }
  return runs.map((arm) => arm.map((r) => r.scores));
}

export const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
export const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.floor((s.length - 1) / 2)] as number) : 0;
};
export const f3 = (x: number) => x.toFixed(3);

/** An arm's figures over its seeds. */
export interface ArmSummary {
  name: string;
  /** [day] → mean over readers and seeds */
  days: DayScore[];
  /** [reader] → mean precision on day 3 */
  day3: number[];
  /** Mean share of each reader's interest sent over the whole run. */
  recall: number;
}

/** An arm's figures from its runs: [seed][reader][day]. */
export function summarize(name: string, all: DayScore[][][], people: readonly SimReader[], days: number): ArmSummary {
  return {
    name,
    days: Array.from({ length: days }, (_, d) => ({
      precision: mean(all.flatMap((s) => s.map((r) => (r[d] as DayScore).precision))),
      ndcg: mean(all.flatMap((s) => s.map((r) => (r[d] as DayScore).ndcg))),
    })),
    day3: people.map((_, i) => mean(all.map((s) => ((s[i] as DayScore[])[2] as DayScore).precision))),
    recall: mean(
      all.flatMap((s) =>
        s.map((r, i) => r.reduce((sum, d) => sum + d.precision * DIGEST, 0) / (people[i] as SimReader).interest.size),
      ),
    ),
  };
}

/** Describes the corpus, the readers and how they vote. */
export function printSetUp(corpus: readonly BenchPaper[], people: readonly SimReader[], days: number, seeds: number) {
  console.log(
    `${corpus.length} papers (seed page and fixtures); ${people.length} readers, ${days} daily digests of ${DIGEST}, ` +
      `${seeds} seed${seeds === 1 ? '' : 's'} of voting (like ${VOTING.likeInterest} of their interest, dislike ${VOTING.dislikeOther} of the rest, ` +
      `like ${VOTING.likeOther} of the rest by mistake)`,
  );
  for (const r of people)
    console.log(
      `  ${r.name.padEnd(28)} interest ${String(r.interest.size).padStart(3)} papers, topics: ${r.topics.join(', ')}`,
    );
}

/**
 * Prints the arms' figures per day and per reader on day 3, and the aim: the learned arm's
 * precision@10 on day 3 against trending only and topics only (arms named so).
 */
export function printArms(arms: readonly ArmSummary[], people: readonly SimReader[], days: number) {
  console.log('\nper day, mean over readers and seeds: precision@10 / NDCG@10 (day 1: nobody has voted yet)');
  const W = 20;
  console.log(`${'day'.padEnd(28)}${arms.map((a) => a.name.padStart(W)).join('')}`);
  for (let d = 0; d < days; d++) {
    const cells = arms.map((a) => `${f3((a.days[d] as DayScore).precision)} / ${f3((a.days[d] as DayScore).ndcg)}`);
    console.log(`${String(d + 1).padEnd(28)}${cells.map((c) => c.padStart(W)).join('')}`);
  }
  console.log(`${`interest sent in ${days} days`.padEnd(28)}${arms.map((a) => f3(a.recall).padStart(W)).join('')}`);

  console.log(`\n${'day 3 precision@10'.padEnd(48)}${arms.map((a) => a.name.padStart(W)).join('')}`);
  for (const [i, r] of people.entries()) {
    console.log(`${r.name.padEnd(48)}${arms.map((a) => f3(a.day3[i] as number).padStart(W)).join('')}`);
  }
  const named = (n: string) => arms.find((a) => a.name === n);
  const [trending, topicsOnly, learned] = [named('trending only'), named('topics only'), named('learned')];
  if (!trending || !topicsOnly || !learned || days < 3) return;
  const day3 = (a: ArmSummary) => (a.days[2] as DayScore).precision;
  console.log(
    `\nafter two digests with votes (day 3): learned ${f3(day3(learned))} = ${(day3(learned) / day3(trending)).toFixed(2)}× trending only ` +
      `(${f3(day3(trending))}; aim ≥ 3×), topics only ${f3(day3(topicsOnly))} (aim: learned higher)`,
  );
}
