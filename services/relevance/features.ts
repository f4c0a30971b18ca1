import { nameKey, type TokenizeOptions, terms, tokenize } from './text.ts';

/** The text of a paper that relevance reads: what the sources report. */
export interface PaperText {
  title: string;
  abstract?: string;
  keywords?: readonly string[];
  authors?: readonly string[];
  /** Organizations the source names (Hugging Face's `organization`). */
  organizations?: readonly string[];
}

export interface FeatureOptions extends TokenizeOptions {
  /** How much a title word counts against an abstract word. Default 2. */
  titleWeight?: number;
  /** How much a keyword counts (Hugging Face's `ai_keywords`). Default 2. */
  keywordWeight?: number;
  /** Authors and organizations as features of their own (`@name`, `#name`); 0 leaves them out. Default 1. */
  nameWeight?: number;
  /** Adjacent word pairs within a field as terms too ("low rank", "in context"). Default off. */
  bigrams?: boolean;
  /**
   * A paper keeps its strongest terms only: a bounded size, and scoring costs one read per term.
   * Default 32: bench/relevance.ts measured 20–40 a little better than 100 or all (the weakest
   * terms of an abstract are noise), at a third of the cost.
   */
  maxTerms?: number;
}

/** A sparse vector: term ids ascending, with their weights. */
export interface SparseVector {
  ids: Int32Array;
  values: Float32Array;
}

/** What relevance keeps of one paper: its tf-idf vector and what topic and name matching need. */
export interface PaperFeatures {
  vector: SparseVector;
  /** Every term of the title, ascending (not cut to maxTerms: matching needs them all). */
  titleTerms: Int32Array;
  /** Every term of the title, keywords and abstract, ascending. */
  textTerms: Int32Array;
  /** Name keys (text.ts nameKey) of the authors and organizations. */
  authorKeys: readonly string[];
  organizationKeys: readonly string[];
}

/** Term ↔ id, growing as new papers bring new terms. */
export class Vocabulary {
  private readonly ids = new Map<string, number>();
  private readonly terms: string[] = [];
  private readonly words: string[] = [];

  get size(): number {
    return this.terms.length;
  }

  /** The id of `term`, adding it if new; `word` is how it was first written ("adapters" for adapt). */
  intern(term: string, word = term): number {
    let id = this.ids.get(term);
    if (id === undefined) {
      id = this.terms.length;
      this.ids.set(term, id);
      this.terms.push(term);
      this.words.push(word);
    }
    return id;
  }

  /** The id of `term`, or undefined if no paper has it. */
  id(term: string): number | undefined {
    return this.ids.get(term);
  }

  term(id: number): string {
    const t = this.terms[id];
    if (t === undefined) throw new RangeError(`no term ${id}`);
    return t;
  }

  /** A term as a reader would write it: the first word it was seen as. */
  word(id: number): string {
    return this.words[id] ?? this.term(id);
  }
}

const AUTHOR = '@';
const ORGANIZATION = '#';

/**
 * Turns paper text into tf-idf vectors: weighted term counts (a title word counts twice), sublinear
 * term frequency (1 + ln tf), smoothed idf (1 + ln((1 + N) / (1 + df))) over the papers it has
 * seen, L2-normalised after keeping the `maxTerms` strongest terms.
 */
export class Featurizer {
  readonly vocab = new Vocabulary();
  private df = new Int32Array(1024);
  private documents = 0;
  readonly options: Required<FeatureOptions>;

  constructor(options: FeatureOptions = {}) {
    this.options = {
      stemming: options.stemming ?? 'porter',
      compounds: options.compounds ?? true,
      titleWeight: options.titleWeight ?? 2,
      keywordWeight: options.keywordWeight ?? 2,
      nameWeight: options.nameWeight ?? 1,
      bigrams: options.bigrams ?? false,
      maxTerms: options.maxTerms ?? 32,
    };
  }

  /** How many papers the document frequencies count. */
  get size(): number {
    return this.documents;
  }

  /** Counts the papers' terms into the document frequencies (each paper once). */
  fit(papers: Iterable<PaperText>): void {
    for (const paper of papers) {
      this.documents++;
      for (const id of this.counts(paper).keys()) {
        if (id >= this.df.length) {
          const grown = new Int32Array(Math.max(this.df.length * 2, id + 1));
          grown.set(this.df);
          this.df = grown;
        }
        this.df[id] = (this.df[id] ?? 0) + 1;
      }
    }
  }

  idf(id: number): number {
    return 1 + Math.log((1 + this.documents) / (1 + (this.df[id] ?? 0)));
  }

  /** The term ids of a piece of text (a topic, an excluded term), without adding new terms. */
  termsOf(text: string): (number | undefined)[] {
    return this.textTerms(text).map((t) => this.vocab.id(t));
  }

  /** The features of one paper, with the idf as of now. */
  features(paper: PaperText): PaperFeatures {
    const title = this.textTerms(paper.title);
    const text = [...title, ...this.textTerms(paper.abstract ?? '')];
    for (const k of paper.keywords ?? []) text.push(...this.textTerms(k));
    return {
      vector: this.vector(paper),
      titleTerms: sortedIds(title.map((t) => this.vocab.intern(t))),
      textTerms: sortedIds(text.map((t) => this.vocab.intern(t))),
      authorKeys: (paper.authors ?? []).map(nameKey).filter(Boolean),
      organizationKeys: (paper.organizations ?? []).map(nameKey).filter(Boolean),
    };
  }

  /** The L2-normalised tf-idf vector of a paper, its `maxTerms` strongest terms. */
  vector(paper: PaperText): SparseVector {
    return this.weigh(this.counts(paper));
  }

  /** A vector for free text weighted as a title (a reader's topics as a query). */
  queryVector(texts: readonly string[]): SparseVector {
    const counts = new Map<number, number>();
    for (const text of texts) this.add(counts, this.fieldTerms(text), 1);
    return this.weigh(counts);
  }

  private weigh(counts: Map<number, number>): SparseVector {
    const entries: [number, number][] = [];
    for (const [id, tf] of counts) entries.push([id, (1 + Math.log(tf)) * this.idf(id)]);
    entries.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    entries.length = Math.min(entries.length, this.options.maxTerms);
    entries.sort((a, b) => a[0] - b[0]);
    let norm = 0;
    for (const [, w] of entries) norm += w * w;
    norm = Math.sqrt(norm) || 1;
    return {
      ids: Int32Array.from(entries, (e) => e[0]),
      values: Float32Array.from(entries, (e) => e[1] / norm),
    };
  }

  /**
   * Terms for matching a topic or an excluded term: with hyphenated words joined too, so
   * "in-context" needs "in-context" in the paper as PostgreSQL's websearch_to_tsquery does, not
   * only "context".
   */
  private textTerms(text: string): string[] {
    return tokenize(text, { stemming: this.options.stemming, compounds: true });
  }

  /** The terms of one field, each with its word: words (with joined compounds) and, if asked, adjacent pairs. */
  private fieldTerms(text: string): [string, string][] {
    const words = terms(text, { stemming: this.options.stemming, compounds: this.options.compounds });
    if (!this.options.bigrams) return words;
    const plain = terms(text, { stemming: this.options.stemming, compounds: false });
    const pairs: [string, string][] = [];
    for (let i = 1; i < plain.length; i++) {
      const [a, x] = plain[i - 1] as [string, string];
      const [b, y] = plain[i] as [string, string];
      pairs.push([`${a} ${b}`, `${x} ${y}`]);
    }
    return [...words, ...pairs];
  }

  private add(counts: Map<number, number>, terms: readonly (readonly [string, string])[], weight: number): void {
    for (const [term, word] of terms) {
      const id = this.vocab.intern(term, word);
      counts.set(id, (counts.get(id) ?? 0) + weight);
    }
  }

  private counts(paper: PaperText): Map<number, number> {
    const o = this.options;
    const counts = new Map<number, number>();
    this.add(counts, this.fieldTerms(paper.title), o.titleWeight);
    this.add(counts, this.fieldTerms(paper.abstract ?? ''), 1);
    for (const k of paper.keywords ?? []) this.add(counts, this.fieldTerms(k), o.keywordWeight);
    if (o.nameWeight > 0) {
      const names = [
        ...(paper.authors ?? []).map((a) => AUTHOR + nameKey(a)),
        ...(paper.organizations ?? []).map((a) => ORGANIZATION + nameKey(a)),
      ].filter((n) => n.length > 1);
      this.add(
        counts,
        names.map((n) => [n, n] as const),
        o.nameWeight,
      );
    }
    return counts;
  }
}

function sortedIds(ids: number[]): Int32Array {
  return Int32Array.from(new Set(ids)).sort();
}

/** Whether ascending `haystack` holds `id` (binary search). */
export function hasId(haystack: Int32Array, id: number): boolean {
  let lo = 0;
  let hi = haystack.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = haystack[mid] as number;
    if (v === id) return true;
    if (v < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** The weight of term `id` in a vector, 0 if absent (binary search). */
export function termValue(v: SparseVector, id: number): number {
  let lo = 0;
  let hi = v.ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const at = v.ids[mid] as number;
    if (at === id) return v.values[mid] as number;
    if (at < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return 0;
}

/** The dot product of two sparse vectors (both ascending). */
export function dot(a: SparseVector, b: SparseVector): number {
  let i = 0;
  let j = 0;
  let sum = 0;
  while (i < a.ids.length && j < b.ids.length) {
    const x = a.ids[i] as number;
    const y = b.ids[j] as number;
    if (x === y) sum += (a.values[i++] as number) * (b.values[j++] as number);
    else if (x < y) i++;
    else j++;
  }
  return sum;
}
