import { describe, expect, it } from 'vitest';
import { Featurizer, hasId } from './features.ts';

const norm = (values: Float32Array) => Math.sqrt(values.reduce((s, v) => s + v * v, 0));

describe('paper vectors', () => {
  const papers = [
    { title: 'Retrieval heads', abstract: 'attention heads that copy', authors: ['Ana Ruíz'] },
    { title: 'Attention sinks', abstract: 'retrieval of tokens by attention', keywords: ['streaming'] },
    { title: 'Vision transformers', abstract: 'patches and attention' },
  ];

  it('are unit length, term ids ascending', () => {
    const f = new Featurizer();
    f.fit(papers);
    for (const p of papers) {
      const v = f.vector(p);
      expect(norm(v.values)).toBeCloseTo(1, 5);
      expect([...v.ids]).toEqual([...v.ids].sort((a, b) => a - b));
    }
  });

  it('weigh a title word above the same word in the abstract, and rare words above common ones', () => {
    const f = new Featurizer();
    f.fit(papers);
    const [first, second] = papers.map((p) => f.vector(p));
    const weight = (v: typeof first, term: string) => {
      const id = f.vocab.id(term) as number;
      const i = v ? [...v.ids].indexOf(id) : -1;
      return i < 0 ? 0 : (v?.values[i] ?? 0);
    };
    // "retriev" is in the first title and in the second abstract.
    expect(weight(first, 'retriev')).toBeGreaterThan(weight(second, 'retriev'));
    // "attent" is in every paper, "copi" in one.
    expect(weight(first, 'copi')).toBeGreaterThan(weight(first, 'attent'));
  });

  it('keep at most maxTerms terms', () => {
    const f = new Featurizer({ maxTerms: 3 });
    f.fit(papers);
    expect(f.vector(papers[0] as (typeof papers)[0]).ids).toHaveLength(3);
  });

  it('carry authors as terms of their own, and keys for following them', () => {
    const f = new Featurizer();
    f.fit(papers);
    const features = f.features(papers[0] as (typeof papers)[0]);
    expect(hasId(features.vector.ids, f.vocab.id('@ana ruiz') as number)).toBe(true);
    expect(features.authorKeys).toEqual(['ana ruiz']);
    // Matching needs every word, even those cut from the vector.
    expect(hasId(features.textTerms, f.vocab.id('copi') as number)).toBe(true);
    expect(hasId(features.titleTerms, f.vocab.id('copi') as number)).toBe(false);
  });

  it('look terms of free text up without adding new ones', () => {
    const f = new Featurizer();
    f.fit(papers);
    const size = f.vocab.size;
    expect(f.termsOf('attention unheardof')).toEqual([f.vocab.id('attent'), undefined]);
    expect(f.vocab.size).toBe(size);
  });

  it('show a term as the word it was first seen as', () => {
    const f = new Featurizer();
    f.fit(papers);
    expect(f.vocab.word(f.vocab.id('retriev') as number)).toBe('retrieval');
  });
});
