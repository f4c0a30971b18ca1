import type { SparseVector, Vocabulary } from './features.ts';
import type { ReaderModel } from './model.ts';

/**
 * Scores papers for one reader at a time: the reader's K weights are spread into a dense array
 * indexed by term id, so a paper costs one array read per term it has (about 100), and loading a
 * reader costs K map lookups. One Scorer per planning process, reused reader after reader.
 */
export class Scorer {
  private dense = new Float32Array(0);
  private loaded: number[] = [];

  constructor(private readonly vocab: Vocabulary) {}

  /** Makes `model` the reader scored next. Terms no paper of this vocabulary has are skipped. */
  load(model: ReaderModel): void {
    this.clear();
    if (this.dense.length < this.vocab.size) {
      const grown = new Float32Array(Math.max(this.vocab.size, this.dense.length * 2, 1024));
      this.dense = grown;
    }
    for (let i = 0; i < model.terms.length; i++) {
      const id = this.vocab.id(model.terms[i] as string);
      if (id === undefined) continue;
      this.dense[id] = model.weights[i] as number;
      this.loaded.push(id);
    }
  }

  /** The loaded reader's score for a paper: the dot product of their weights and its vector. */
  score(v: SparseVector): number {
    const { ids, values } = v;
    const dense = this.dense;
    let s = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      if (id < dense.length) s += (dense[id] as number) * (values[i] as number);
    }
    return s;
  }

  /** The loaded reader's weight of one term (0 if the model has none). */
  weight(id: number): number {
    return id < this.dense.length ? (this.dense[id] as number) : 0;
  }

  private clear(): void {
    for (const id of this.loaded) this.dense[id] = 0;
    this.loaded = [];
  }
}
