import { describe, expect, it } from 'vitest';
import { dot, Featurizer, type PaperText } from './features.ts';
import { type ModelKind, trainModel, type Vote } from './model.ts';
import { Scorer } from './scorer.ts';

const PAPERS: PaperText[] = [
  {
    title: 'LoRA: Low-Rank Adaptation of Large Language Models',
    abstract: 'We freeze the weights and train low-rank adapters.',
  },
  { title: 'QLoRA: Efficient Finetuning of Quantized LLMs', abstract: 'Low-rank adapters on a 4-bit quantized model.' },
  { title: 'Dense Passage Retrieval for Open-Domain Question Answering', abstract: 'Dual encoders retrieve passages.' },
  { title: 'Retrieval-Augmented Generation for Knowledge-Intensive NLP', abstract: 'A retriever and a generator.' },
  { title: 'Vision Transformers at Scale', abstract: 'Image classification with patches and attention.' },
  { title: 'Tied-LoRA: Weight Tying for Low-Rank Adapters', abstract: 'Fewer trainable parameters than LoRA.' },
  { title: 'ColBERT: Late Interaction for Passage Retrieval', abstract: 'Token-level retrieval of passages.' },
];

function setUp() {
  const f = new Featurizer();
  f.fit(PAPERS);
  const vectors = PAPERS.map((p) => f.vector(p));
  const vote = (i: number, value: 1 | -1): Vote => ({
    paperId: i + 1,
    value,
    title: (PAPERS[i] as PaperText).title,
    vector: vectors[i] as Vote['vector'],
  });
  const background = vectors;
  return { f, vectors, vote, background };
}

describe("training a reader's model", () => {
  it('gives no model without votes', () => {
    const { f, background } = setUp();
    expect(trainModel(f, { votes: [], topics: ['lora'], background })).toBeUndefined();
  });

  for (const kind of ['logistic', 'rocchio'] as ModelKind[]) {
    it(`(${kind}) scores papers like the liked one above papers like the disliked one`, () => {
      const { f, vectors, vote, background } = setUp();
      const model = trainModel(f, { votes: [vote(0, 1), vote(2, -1)], topics: [], background }, { kind });
      if (!model) throw new Error('no model');
      const scorer = new Scorer(f.vocab);
      scorer.load(model);
      const score = (i: number) => scorer.score(vectors[i] as Vote['vector']);
      // The other LoRA papers above the other retrieval papers.
      for (const lora of [1, 5]) for (const retrieval of [3, 6]) expect(score(lora)).toBeGreaterThan(score(retrieval));
    });
  }

  it('counts the latest vote on a paper, so a changed vote changes the model', () => {
    const { f, vote, background } = setUp();
    const liked = trainModel(f, { votes: [vote(0, -1), vote(0, 1)], topics: [], background });
    const disliked = trainModel(f, { votes: [vote(0, 1), vote(0, -1)], topics: [], background });
    const weightOf = (m: typeof liked, term: string) => m?.weights[m.terms.indexOf(term)] ?? Number.NaN;
    expect(liked?.votes).toBe(1);
    expect(weightOf(liked, 'lora')).toBeGreaterThan(0);
    expect(weightOf(disliked, 'lora')).toBeLessThan(0);
    expect(disliked?.liked).toEqual([]);
  });

  it('keeps at most K term weights, the strongest, and a few liked papers with their strongest terms', () => {
    const { f, vote, background } = setUp();
    const model = trainModel(
      f,
      { votes: [vote(0, 1), vote(1, 1), vote(5, 1), vote(2, -1)], topics: ['retrieval'], background },
      { topK: 5, likedKept: 2, likedTerms: 3 },
    );
    expect(model?.terms).toHaveLength(5);
    const magnitudes = model?.weights.map(Math.abs) ?? [];
    expect([...magnitudes].sort((a, b) => b - a)).toEqual(magnitudes);
    // Newest liked first.
    expect(model?.liked.map((l) => l.paperId)).toEqual([6, 2]);
    expect(model?.liked[0]?.terms).toHaveLength(3);
    expect(model?.liked[0]?.terms).toContain('tiedlora');
  });

  it('stays small: a model of many votes is a few kilobytes as JSON', () => {
    const { f, vote, background } = setUp();
    const votes = PAPERS.map((_, i) => vote(i, i % 2 === 0 ? 1 : -1));
    const model = trainModel(f, { votes, topics: ['retrieval', 'lora'], background });
    expect(Buffer.byteLength(JSON.stringify(model))).toBeLessThan(4096);
  });
});

describe('scoring', () => {
  it("is the dot product of the reader's weights and the paper's vector, one reader at a time", () => {
    const { f, vectors, vote, background } = setUp();
    const first = trainModel(f, { votes: [vote(0, 1)], topics: [], background });
    const second = trainModel(f, { votes: [vote(2, 1)], topics: [], background });
    if (!first || !second) throw new Error('no model');
    const asVector = (m: typeof first) => {
      const pairs = m.terms.map((t, i) => [f.vocab.id(t) as number, m.weights[i] as number] as const);
      pairs.sort((a, b) => a[0] - b[0]);
      return { ids: Int32Array.from(pairs, (p) => p[0]), values: Float32Array.from(pairs, (p) => p[1]) };
    };
    const scorer = new Scorer(f.vocab);
    scorer.load(first);
    scorer.load(second);
    for (const v of vectors) expect(scorer.score(v)).toBeCloseTo(dot(asVector(second), v), 5);
  });

  it('skips terms no paper of the vocabulary has', () => {
    const { f, vectors } = setUp();
    const scorer = new Scorer(f.vocab);
    scorer.load({ terms: ['neverseen'], weights: [3], liked: [], votes: 1 });
    expect(scorer.score(vectors[0] as Vote['vector'])).toBe(0);
  });
});
