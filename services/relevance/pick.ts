import { type Featurizer, type PaperFeatures, termValue } from './features.ts';
import {
  compilePhrases,
  type MatchLevel,
  matchLevel,
  type Phrase,
  type TopicHit,
  topicHits,
  topicStrength,
} from './match.ts';
import type { ReaderModel } from './model.ts';
import { byTrend, type ListPick, listReason, type RankedList, walkList } from './order.ts';
import { Scorer } from './scorer.ts';
import { nameKey } from './text.ts';

/** A paper a reader may be sent, with what picking and its reason need. */
export interface Candidate {
  id: number;
  title: string;
  /** Display names, in the order of features.authorKeys / organizationKeys. */
  authors: readonly string[];
  organizations: readonly string[];
  features: PaperFeatures;
  trendScore: number;
  trendReason: string;
  /** Live attention, see attentionPoints; 0 for a paper only the seed page lists. */
  attention: number;
}

/** What one reader told Paperboy. */
export interface Reader {
  topics: readonly string[];
  maxPapers: number;
  /** Absent, or trained on no votes: the reader gets today's order. */
  model?: ReaderModel;
  followedAuthors?: readonly string[];
  followedOrganizations?: readonly string[];
  excludedTerms?: readonly string[];
  /**
   * Without a model, rank by the Blend's topic strength, attention and trend (as a reader with a
   * model whose votes taught it nothing) instead of today's order. Off: today's order is the
   * promise to readers who voted nothing; this is the measured alternative (docs/relevance.md).
   */
  gradedTopics?: boolean;
}

/** A model that lifts nothing, for gradedTopics. */
const NEUTRAL: ReaderModel = { terms: [], weights: [], liked: [], votes: 0 };

export interface PickInput {
  reader: Reader;
  /** Today's ranked list for the reader's topic set (ranked_lists, or order.ts rankedList). */
  list: RankedList;
  /** Every paper of the list and of `extra`. */
  papers: ReadonlyMap<number, Candidate>;
  /** Candidates beyond the list: followed authors' papers, papers the model retrieves. */
  extra?: Iterable<number>;
  isSent: (id: number) => boolean;
}

export interface Pick {
  paperId: number;
  place: number;
  reason: string;
  /** The blended score (see Blend); null in today's order. */
  score: number | null;
}

/**
 * The blend for a reader with a model, over the candidates not sent and not excluded:
 *
 *   score = z(model) + topic · T + attention · A + trend · z(ln trend)
 *
 * z(·) standardises over the candidates (mean 0, deviation 1), so the weights compare like with
 * like whatever the scale of a reader's model. T is topic strength (match.ts): the share of the
 * reader's topics the paper matches, plus ½ if one matches in the title. A is live attention
 * (upvotes, comments, stars), 0 to 1 on a log scale: a seed-page position counts only through the
 * trend score. Followed authors' and organizations' papers come first, best score first.
 */
export interface Blend {
  topic: number;
  attention: number;
  trend: number;
  /** A liked paper is named in a reason when its similarity to the pick reaches this. */
  likeThreshold: number;
  /** Otherwise the terms that lifted a pick are named when z(model) reaches this. */
  termsThreshold: number;
}

export const DEFAULT_BLEND: Blend = {
  topic: 1,
  attention: 0.5,
  trend: 0.3,
  likeThreshold: 0.1,
  termsThreshold: 0.5,
};

/** upvotes + 2 · comments + stars / 10, as the trend score counts them (ranking.sql). */
export function attentionPoints(p: { upvotes?: number | null; comments?: number | null; githubStars?: number | null }) {
  return (p.upvotes ?? 0) + 2 * (p.comments ?? 0) + (p.githubStars ?? 0) / 10;
}

// 200 points (a paper with 200 upvotes) or more is full attention.
const attentionScale = (points: number) => Math.min(1, Math.log1p(Math.max(points, 0)) / Math.log1p(200));

/**
 * Picks one reader's digest. Without a model it is today's order exactly (walkList over the
 * list), with two additions when the reader set them: papers matching an excluded term are never
 * picked, and followed authors' papers come first. With a model, the Blend.
 *
 * One Picker per planning run, over the run's Featurizer, reused reader after reader: it keeps one
 * Scorer, and each paper's match with each topic or excluded term once found.
 */
export class Picker {
  private readonly scorer: Scorer;
  /** Topics and excluded terms compiled, shared by every reader who wrote the same text. */
  private phrases = new Map<string, Phrase | null>();
  /** How each paper matches each compiled phrase, found once per paper and phrase, not per reader. */
  private levels = new Map<Phrase, WeakMap<PaperFeatures, MatchLevel>>();
  private phrasesForVocabulary = 0;

  constructor(
    private readonly featurizer: Featurizer,
    readonly blend: Blend = DEFAULT_BLEND,
  ) {
    this.scorer = new Scorer(featurizer.vocab);
  }

  pick(input: PickInput): Pick[] {
    const { reader } = input;
    const model = reader.model && reader.model.votes > 0 ? reader.model : reader.gradedTopics ? NEUTRAL : undefined;
    const excluded = this.compile(reader.excludedTerms ?? []);
    const follows = new Follows(reader);
    const paper = (id: number) => {
      const c = input.papers.get(id);
      if (!c) throw new Error(`no candidate ${id}`);
      return c;
    };
    if (!model && excluded.length === 0 && follows.none) {
      return this.listPicks(walkList(input.list, input.isSent, reader.maxPapers), paper);
    }
    const isExcluded = (c: Candidate) => excluded.some((p) => this.level(c, p) > 0);

    // The candidates: the list, then anything extra, once each, neither sent nor excluded.
    const pool: Candidate[] = [];
    const seen = input.extra ? new Set<number>() : undefined;
    const consider = (id: number) => {
      if (seen) {
        if (seen.has(id)) return;
        seen.add(id);
      }
      if (input.isSent(id)) return;
      const c = paper(id);
      if (excluded.length === 0 || !isExcluded(c)) pool.push(c);
    };
    for (const id of input.list.ids) consider(id);
    for (const id of input.extra ?? []) consider(id);

    if (!model) {
      const first = pool
        .filter((c) => follows.of(c))
        .sort(byTrend)
        .slice(0, reader.maxPapers);
      const taken = new Set(first.map((c) => c.id));
      const kept = new Set(pool.map((c) => c.id));
      const rest = walkList(input.list, (id) => taken.has(id) || !kept.has(id), reader.maxPapers - first.length);
      const listed = new Map(input.list.ids.map((id, i) => [id, input.list.matched[i] ?? null]));
      const followedPicks = first.map((c, i) => ({
        paperId: c.id,
        place: i + 1,
        reason: [follows.of(c), listReason(listed.get(c.id) ?? null, c.trendReason)].filter(Boolean).join(' · '),
        score: null,
      }));
      return [...followedPicks, ...this.listPicks(rest, paper).map((p) => ({ ...p, place: p.place + first.length }))];
    }
    return this.learnedPicks(model, this.compile(reader.topics), follows, pool, reader.maxPapers);
  }

  private level(c: Candidate, p: Phrase): MatchLevel {
    let byPaper = this.levels.get(p);
    if (!byPaper) {
      byPaper = new WeakMap();
      this.levels.set(p, byPaper);
    }
    let level = byPaper.get(c.features);
    if (level === undefined) {
      level = matchLevel(c.features, p);
      byPaper.set(c.features, level);
    }
    return level;
  }

  /** compilePhrases, remembered until new papers bring new terms (which can make a phrase match). */
  private compile(texts: readonly string[]): Phrase[] {
    if (this.phrasesForVocabulary !== this.featurizer.vocab.size) {
      this.phrases = new Map();
      this.levels = new Map();
      this.phrasesForVocabulary = this.featurizer.vocab.size;
    }
    const out: Phrase[] = [];
    for (const text of texts) {
      let p = this.phrases.get(text);
      if (p === undefined) {
        p = compilePhrases(this.featurizer, [text])[0] ?? null;
        this.phrases.set(text, p);
      }
      if (p) out.push(p);
    }
    return out;
  }

  private listPicks(picks: ListPick[], paper: (id: number) => Candidate): Pick[] {
    return picks.map((p, i) => ({
      paperId: p.paperId,
      place: i + 1,
      reason: listReason(p.matched, paper(p.paperId).trendReason),
      score: null,
    }));
  }

  private learnedPicks(model: ReaderModel, topics: Phrase[], follows: Follows, pool: Candidate[], max: number): Pick[] {
    const n = pool.length;
    this.scorer.load(model);
    const lift = new Float64Array(n);
    const trend = new Float64Array(n);
    const strength = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const c = pool[i] as Candidate;
      lift[i] = this.scorer.score(c.features.vector);
      trend[i] = Math.log(Math.max(c.trendScore, 1e-12));
      if (topics.length > 0) strength[i] = topicStrength(topics.map((t) => this.level(c, t)));
    }
    standardise(lift);
    standardise(trend);
    const b = this.blend;
    const score = new Float64Array(n);
    const first = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const c = pool[i] as Candidate;
      score[i] =
        (lift[i] as number) +
        b.topic * (strength[i] as number) +
        b.attention * attentionScale(c.attention) +
        b.trend * (trend[i] as number);
      if (!follows.none && follows.of(c)) first[i] = 1;
    }
    const better = (i: number, j: number) =>
      (first[i] as number) - (first[j] as number) ||
      (score[i] as number) - (score[j] as number) ||
      (pool[j] as Candidate).id - (pool[i] as Candidate).id;
    const liked = model.liked.map((l) => ({
      title: l.title,
      terms: l.terms.map((t, k) => [this.featurizer.vocab.id(t), l.weights[k] as number] as const),
    }));
    return topIndices(n, max, better).map((i, place) => {
      const c = pool[i] as Candidate;
      const hits = topicHits(c.features, topics);
      return {
        paperId: c.id,
        place: place + 1,
        score: score[i] as number,
        reason: [
          follows.of(c),
          this.likeReason(c, liked) ?? ((lift[i] as number) >= b.termsThreshold ? this.termsReason(c) : undefined),
          topicReason(hits),
          c.trendReason || undefined,
        ]
          .filter(Boolean)
          .join(' · '),
      };
    });
  }

  /** `like "Title…" you liked`: the liked paper closest to the pick, if close enough. */
  private likeReason(
    c: Candidate,
    liked: readonly { title: string; terms: readonly (readonly [number | undefined, number])[] }[],
  ): string | undefined {
    const v = c.features.vector;
    let best: { title: string; sim: number } | undefined;
    for (const l of liked) {
      let sim = 0;
      for (const [id, w] of l.terms) if (id !== undefined) sim += w * termValue(v, id);
      if (!best || sim > best.sim) best = { title: l.title, sim };
    }
    return best && best.sim >= this.blend.likeThreshold ? `like "${shorten(best.title, 48)}" you liked` : undefined;
  }

  /** `from your votes: retrieval, passage`: the two terms of the loaded model that lifted the pick most. */
  private termsReason(c: Candidate): string | undefined {
    const v = c.features.vector;
    const lifts: [number, number][] = [];
    for (let k = 0; k < v.ids.length; k++) {
      const id = v.ids[k] as number;
      const w = this.scorer.weight(id);
      if (w > 0 && !/^[@#]/.test(this.featurizer.vocab.term(id))) lifts.push([id, w * (v.values[k] as number)]);
    }
    lifts.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    const words = lifts.slice(0, 2).map(([id]) => this.featurizer.vocab.word(id));
    return words.length ? `from your votes: ${words.join(', ')}` : undefined;
  }
}

/** A reader's followed authors and organizations, matched by name key. */
class Follows {
  private readonly authors: ReadonlySet<string>;
  private readonly organizations: ReadonlySet<string>;
  readonly none: boolean;

  constructor(reader: Reader) {
    this.authors = new Set((reader.followedAuthors ?? []).map(nameKey));
    this.organizations = new Set((reader.followedOrganizations ?? []).map(nameKey));
    this.none = this.authors.size === 0 && this.organizations.size === 0;
  }

  /** The reason a paper is by someone followed, or undefined. */
  of(c: Candidate): string | undefined {
    if (this.none) return undefined;
    const a = c.features.authorKeys.findIndex((k) => this.authors.has(k));
    if (a >= 0) return `by ${c.authors[a]}, whom you follow`;
    const o = c.features.organizationKeys.findIndex((k) => this.organizations.has(k));
    if (o >= 0) return `from ${c.organizations[o]}, which you follow`;
    return undefined;
  }
}

/**
 * The indices of the `k` best of 0..n−1, best first, where better(i, j) > 0 means i is better:
 * one pass keeping a sorted short list, so a digest of 10 from 400 costs about 400 comparisons.
 */
function topIndices(n: number, k: number, better: (i: number, j: number) => number): number[] {
  const top: number[] = [];
  for (let i = 0; i < n; i++) {
    if (top.length === k && better(i, top[k - 1] as number) <= 0) continue;
    let at = top.length;
    while (at > 0 && better(i, top[at - 1] as number) > 0) at--;
    top.splice(at, 0, i);
    if (top.length > k) top.pop();
  }
  return top;
}

/** `matches: lora, retrieval (title)`: each topic matched, marked where it matched in the title. */
function topicReason(hits: readonly TopicHit[]): string | undefined {
  if (hits.length === 0) return undefined;
  return `matches: ${hits.map((h) => (h.inTitle ? `${h.topic} (title)` : h.topic)).join(', ')}`;
}

/** Standardises in place: mean 0, deviation 1 (all 0 when the values do not vary). */
function standardise(xs: Float64Array): void {
  const n = xs.length;
  if (n === 0) return;
  let mean = 0;
  for (const x of xs) mean += x;
  mean /= n;
  let variance = 0;
  for (const x of xs) variance += (x - mean) ** 2;
  const sd = Math.sqrt(variance / n);
  for (let i = 0; i < n; i++) xs[i] = sd > 1e-12 ? ((xs[i] as number) - mean) / sd : 0;
}

/** Cut at a word boundary within `max` characters, with an ellipsis. */
export function shorten(title: string, max: number): string {
  if (title.length <= max) return title;
  const cut = title.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > max / 2 ? cut.slice(0, space) : cut).replace(/[\s,:;.-]+$/, '')}…`;
}
