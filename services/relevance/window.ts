import { Featurizer, type SparseVector } from './features.ts';
import { type ReaderModel, trainModel } from './model.ts';
import { attentionPoints, type Candidate, Picker } from './pick.ts';

/** A paper as the ranking window holds it: its text, names, trend and live signals. */
export interface WindowPaper {
  id: number;
  title: string;
  abstract: string;
  keywords: string[];
  authors: string[];
  organization: string | null;
  trendScore: number;
  trendReason: string;
  upvotes: number | null;
  comments: number | null;
  githubStars: number | null;
}

/** A voted paper with its text, for training. */
export interface VotedText extends Pick<WindowPaper, 'title' | 'abstract' | 'keywords' | 'authors' | 'organization'> {
  paperId: number;
  value: 1 | -1;
}

/** How many of the window's most trending papers the word weights (idf) are learned from. */
export const WINDOW_SAMPLE = 1000;

/** How many of the window's papers stand for "the rest of the world" when a model is trained. */
const BACKGROUND = 128;

export const paperText = (p: Pick<WindowPaper, 'title' | 'abstract' | 'keywords' | 'authors' | 'organization'>) => ({
  title: p.title,
  abstract: p.abstract,
  keywords: p.keywords,
  authors: p.authors,
  organizations: p.organization ? [p.organization] : [],
});

/**
 * What relevance knows of the ranking window at one moment: the word weights (document
 * frequencies) fitted on a sample of its papers (the most trending), each paper's features
 * computed once however many readers have it among their candidates, a background sample for
 * training, and one Picker over them. A planning run keeps one; so does a worker that trains
 * models after votes, for a while.
 */
export class RelevanceWindow {
  readonly featurizer = new Featurizer();
  readonly picker: Picker;
  readonly candidates = new Map<number, Candidate>();
  readonly background: SparseVector[];
  /** Followed names' papers of the window, by name letters, found once per window. */
  readonly byName = new Map<string, number[]>();
  /** The smallest id of the sample (the largest safe integer for an empty one). */
  readonly firstId: number;

  constructor(
    readonly since: Date,
    sample: readonly WindowPaper[],
  ) {
    this.featurizer.fit(sample.map(paperText));
    this.picker = new Picker(this.featurizer);
    for (const p of sample) this.add(p);
    this.firstId = sample.reduce((min, p) => Math.min(min, p.id), Number.MAX_SAFE_INTEGER);
    const step = Math.max(1, Math.floor(sample.length / BACKGROUND));
    this.background = sample
      .filter((_, i) => i % step === 0)
      .slice(0, BACKGROUND)
      .map((p) => (this.candidates.get(p.id) as Candidate).features.vector);
  }

  /** The paper's candidate, its features computed the first time it is seen. */
  add(p: WindowPaper): Candidate {
    let c = this.candidates.get(p.id);
    if (!c) {
      c = {
        id: p.id,
        title: p.title,
        authors: p.authors,
        organizations: p.organization ? [p.organization] : [],
        features: this.featurizer.features(paperText(p)),
        trendScore: p.trendScore,
        trendReason: p.trendReason,
        attention: attentionPoints(p),
      };
      this.candidates.set(p.id, c);
    }
    return c;
  }

  /** A reader's model from their votes (oldest first) and topics, over this window's word weights. */
  train(votes: readonly VotedText[], topics: readonly string[]): ReaderModel | undefined {
    return trainModel(this.featurizer, {
      votes: votes.map((v) => ({
        paperId: v.paperId,
        value: v.value,
        title: v.title,
        vector: this.featurizer.vector(paperText(v)),
      })),
      topics,
      background: this.background,
    });
  }
}
