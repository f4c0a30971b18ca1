import { describe, expect, it } from 'vitest';
import { Featurizer } from './features.ts';
import { compilePhrases, matchLevel, type Phrase, topicHits, topicStrength } from './match.ts';

const papers = [
  { title: 'In-Context Learning of Retrievers', abstract: 'retrievers learn in context from demonstrations' },
  { title: 'Vision transformers', abstract: 'in-context classification with retrieval' },
  { title: 'Prompt tuning', abstract: 'learning in context, without hyphens' },
];

function setUp() {
  const f = new Featurizer();
  f.fit(papers);
  return { f, features: papers.map((p) => f.features(p)) };
}

describe('topic matching', () => {
  it('needs every word of a topic, stemmed, and a hyphenated word as written', () => {
    const { f, features } = setUp();
    const topics = compilePhrases(f, ['in-context learning', 'retrieval']);
    expect(features.map((x) => topicHits(x, topics))).toEqual([
      [
        { topic: 'in-context learning', inTitle: true },
        { topic: 'retrieval', inTitle: true },
      ],
      [{ topic: 'retrieval', inTitle: false }],
      [],
    ]);
  });

  it('leaves out a topic of stop words or of a word no paper has', () => {
    const { f } = setUp();
    expect(compilePhrases(f, ['the', 'of and', 'quantum retrieval', 'retrieval']).map((p) => p.text)).toEqual([
      'retrieval',
    ]);
  });

  it('grades strength: more of the topics, then a title match, above a passing mention', () => {
    const { f, features } = setUp();
    const topics = compilePhrases(f, ['in-context learning', 'retrieval']);
    const strength = (x: (typeof features)[0], ts: Phrase[]) => topicStrength(ts.map((t) => matchLevel(x, t)));
    const [both, one, none] = features.map((x) => strength(x, topics));
    expect(both).toBe(1.5);
    expect(one).toBe(0.5);
    expect(none).toBe(0);
    expect(strength(features[1] as (typeof features)[0], compilePhrases(f, ['vision']))).toBe(1.5);
    expect(strength(features[0] as (typeof features)[0], [])).toBe(0);
  });
});
