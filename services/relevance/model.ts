import type { Featurizer, SparseVector } from './features.ts';

/**
 * What relevance stores per reader: the K strongest term weights of a linear model over tf-idf
 * vectors, and a few papers the reader liked (with their strongest terms) to name in reasons.
 * Terms are stored as text, not ids, so a model outlives the vocabulary of the run that trained it.
 */
export interface ReaderModel {
  terms: string[];
  weights: number[];
  liked: LikedPaper[];
  /** Votes it was trained on: a model of no votes is no model (pickFor gives today's order). */
  votes: number;
}

export interface LikedPaper {
  paperId: number;
  title: string;
  terms: string[];
  weights: number[];
}

export interface Vote {
  paperId: number;
  /** +1 "more like this", −1 "less like this". */
  value: 1 | -1;
  vector: SparseVector;
  /** Title, for a liked paper's reason. */
  title: string;
}

export type ModelKind = 'rocchio' | 'logistic';

export interface TrainOptions {
  kind?: ModelKind;
  /** Term weights kept. Default 64. */
  topK?: number;
  /** Liked papers kept to name in reasons, newest first. Default 8. */
  likedKept?: number;
  /** Terms kept per liked paper. Default 8. */
  likedTerms?: number;
  /** Rocchio: weight of the topics, the liked centroid, the disliked centroid, the background centroid. */
  rocchio?: { topics?: number; liked?: number; disliked?: number; background?: number };
  /** Logistic regression: L2 strength, the topics' weight as a liked example, the background's total weight. */
  logistic?: { l2?: number; topics?: number; background?: number; iterations?: number };
}

export interface TrainingData {
  /** Votes, oldest first; a later vote on the same paper replaces an earlier one. */
  votes: readonly Vote[];
  topics: readonly string[];
  /**
   * Papers the reader has not voted on, as the rest of the world: a sample of recent papers. The
   * logistic model learns liked against these (weakly) as well as against disliked papers; Rocchio
   * subtracts their centroid so words every paper uses weigh nothing.
   */
  background: readonly SparseVector[];
}

const DEFAULTS = {
  kind: 'logistic' as ModelKind,
  topK: 64,
  likedKept: 8,
  likedTerms: 8,
};

/** Liked titles are kept this long: reasons show 48 characters. */
const TITLE_KEPT = 60;

/** The votes that count: one per paper, the latest. */
function latestVotes(votes: readonly Vote[]): Vote[] {
  const byPaper = new Map<number, Vote>();
  for (const v of votes) {
    byPaper.delete(v.paperId);
    byPaper.set(v.paperId, v);
  }
  return [...byPaper.values()];
}

/** Trains a reader's model from their votes and topics; undefined when they have no votes. */
export function trainModel(f: Featurizer, data: TrainingData, options: TrainOptions = {}): ReaderModel | undefined {
  const votes = latestVotes(data.votes);
  if (votes.length === 0) return undefined;
  const kind = options.kind ?? DEFAULTS.kind;
  // The topics, as one more liked paper made of their words.
  const topics = data.topics.length > 0 ? f.queryVector(data.topics) : undefined;
  const weights =
    kind === 'rocchio'
      ? rocchio(votes, topics, data.background, options.rocchio)
      : logistic(votes, topics, data.background, options.logistic);
  const kept = strongest(weights, options.topK ?? DEFAULTS.topK);
  const liked = votes
    .filter((v) => v.value > 0)
    .reverse()
    .slice(0, options.likedKept ?? DEFAULTS.likedKept)
    .map((v) => {
      const top = strongest(
        new Map(Array.from(v.vector.ids, (id, i) => [id, v.vector.values[i] as number])),
        options.likedTerms ?? DEFAULTS.likedTerms,
      );
      return {
        paperId: v.paperId,
        title: v.title.length > TITLE_KEPT ? `${v.title.slice(0, TITLE_KEPT - 1)}…` : v.title,
        terms: top.map(([id]) => f.vocab.term(id)),
        weights: top.map(([, w]) => round(w)),
      };
    });
  return {
    terms: kept.map(([id]) => f.vocab.term(id)),
    weights: kept.map(([, w]) => round(w)),
    liked,
    votes: votes.length,
  };
}

// Six significant digits: what a float4 column keeps, so a stored model scores as it did trained.
const round = (w: number) => Number(w.toPrecision(6));

function strongest(weights: Map<number, number>, k: number): [number, number][] {
  return [...weights]
    .filter(([, w]) => w !== 0)
    .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]) || a[0] - b[0])
    .slice(0, k);
}

function addScaled(into: Map<number, number>, v: SparseVector, scale: number): void {
  for (let i = 0; i < v.ids.length; i++) {
    const id = v.ids[i] as number;
    into.set(id, (into.get(id) ?? 0) + scale * (v.values[i] as number));
  }
}

/** w = a·topics + b·mean(liked) − c·mean(disliked) − d·mean(background) */
function rocchio(
  votes: readonly Vote[],
  topics: SparseVector | undefined,
  background: readonly SparseVector[],
  o: TrainOptions['rocchio'] = {},
): Map<number, number> {
  const w = new Map<number, number>();
  const liked = votes.filter((v) => v.value > 0);
  const disliked = votes.filter((v) => v.value < 0);
  if (topics) addScaled(w, topics, o.topics ?? 0.5);
  for (const v of liked) addScaled(w, v.vector, (o.liked ?? 1) / liked.length);
  for (const v of disliked) addScaled(w, v.vector, -(o.disliked ?? 0.5) / disliked.length);
  for (const v of background) addScaled(w, v, -(o.background ?? 0.25) / background.length);
  return w;
}

interface Row {
  idx: Int32Array;
  val: ArrayLike<number>;
  c: number;
}

/**
 * The largest eigenvalue of Σ c·x·xᵀ over the rows with the bias's 1 appended (the logistic
 * loss's curvature is at most a quarter of it), by power iteration: a step from it is as long as
 * is safe, where a bound from the rows' norms would be several times shorter.
 */
function largestEigenvalue(rows: readonly Row[], n: number): number {
  let v = new Float64Array(n + 1).fill(1 / Math.sqrt(n + 1));
  let lambda = 0;
  for (let it = 0; it < 20; it++) {
    const next = new Float64Array(n + 1);
    for (const r of rows) {
      let z = v[n] as number;
      for (let k = 0; k < r.idx.length; k++) z += (v[r.idx[k] as number] as number) * (r.val[k] as number);
      z *= r.c;
      for (let k = 0; k < r.idx.length; k++) {
        const j = r.idx[k] as number;
        next[j] = (next[j] as number) + z * (r.val[k] as number);
      }
      next[n] = (next[n] as number) + z;
    }
    let norm = 0;
    for (const x of next) norm += x * x;
    norm = Math.sqrt(norm);
    if (norm === 0) return 1;
    lambda = norm;
    v = next.map((x) => x / norm);
  }
  // Power iteration approaches from below: a margin keeps the step safe.
  return lambda * 1.1;
}

/**
 * L2-regularised logistic regression, liked (and the topics, as one liked example) against
 * disliked and, weakly, the background; minimised by accelerated gradient descent with the step
 * from a bound on the loss's curvature. A handful of examples of ~100 terms each: milliseconds.
 */
function logistic(
  votes: readonly Vote[],
  topics: SparseVector | undefined,
  background: readonly SparseVector[],
  o: TrainOptions['logistic'] = {},
): Map<number, number> {
  const l2 = o.l2 ?? 0.05;
  const iterations = o.iterations ?? 80;
  const examples = votes.map((v) => ({ x: v.vector, y: v.value > 0 ? 1 : 0, c: 1 }));
  if (topics && topics.ids.length > 0) examples.push({ x: topics, y: 1, c: o.topics ?? 1 });
  const backgroundWeight = (o.background ?? 1) / Math.max(background.length, 1);
  for (const x of background) examples.push({ x, y: 0, c: backgroundWeight });

  // Dense over the terms the examples use.
  const local = new Map<number, number>();
  for (const e of examples) for (const id of e.x.ids) if (!local.has(id)) local.set(id, local.size);
  const xs = examples.map((e) => ({
    idx: Int32Array.from(e.x.ids, (id) => local.get(id) as number),
    val: e.x.values,
    y: e.y,
    c: e.c,
  }));
  const n = local.size;
  const step = 1 / (0.25 * largestEigenvalue(xs, n) + l2);

  let w = new Float64Array(n + 1); // the last entry is the bias (not regularised)
  let prev = new Float64Array(n + 1);
  const look = new Float64Array(n + 1);
  const grad = new Float64Array(n + 1);
  for (let t = 1; t <= iterations; t++) {
    // Nesterov: the gradient at w + (t−1)/(t+2)·(w − prev).
    const momentum = (t - 1) / (t + 2);
    for (let j = 0; j <= n; j++) {
      const wj = w[j] as number;
      look[j] = wj + momentum * (wj - (prev[j] as number));
      grad[j] = j < n ? l2 * (look[j] as number) : 0;
    }
    for (const e of xs) {
      let z = look[n] as number;
      for (let k = 0; k < e.idx.length; k++) z += (look[e.idx[k] as number] as number) * (e.val[k] as number);
      const r = e.c * (1 / (1 + Math.exp(-z)) - e.y);
      for (let k = 0; k < e.idx.length; k++) {
        const j = e.idx[k] as number;
        grad[j] = (grad[j] as number) + r * (e.val[k] as number);
      }
      grad[n] = (grad[n] as number) + r;
    }
    // The new point goes where the one before last was: prev ← w, w ← look − step·grad.
    const older = prev;
    prev = w;
    w = older;
    for (let j = 0; j <= n; j++) w[j] = (look[j] as number) - step * (grad[j] as number);
  }
  const out = new Map<number, number>();
  for (const [id, j] of local) out.set(id, w[j] as number);
  return out;
}
