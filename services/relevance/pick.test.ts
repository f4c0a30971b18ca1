import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Featurizer, type PaperText } from './features.ts';
import { compilePhrases, matchesPhrase } from './match.ts';
import { type ReaderModel, trainModel } from './model.ts';
import { listReason, rankedList, walkList } from './order.ts';
import { type Candidate, Picker, type Reader, shorten } from './pick.ts';

interface TestPaper extends PaperText {
  id: number;
  trendScore: number;
  attention?: number;
}

/** Papers as the planner would hold them, and today's list for `topics`. */
function setUp(papers: readonly TestPaper[]) {
  const f = new Featurizer();
  f.fit(papers);
  const candidates = new Map<number, Candidate>(
    papers.map((p) => [
      p.id,
      {
        id: p.id,
        title: p.title,
        authors: p.authors ?? [],
        organizations: p.organizations ?? [],
        features: f.features(p),
        trendScore: p.trendScore,
        trendReason: `trend ${p.trendScore}`,
        attention: p.attention ?? 0,
      },
    ]),
  );
  const list = (topics: readonly string[]) => {
    const phrases = compilePhrases(f, topics);
    return rankedList(
      papers.map((p) => ({
        id: p.id,
        trendScore: p.trendScore,
        matches: phrases
          .filter((ph) => matchesPhrase((candidates.get(p.id) as Candidate).features.textTerms, ph))
          .map((ph) => ph.text),
      })),
      topics,
    );
  };
  const picker = new Picker(f);
  const pick = (reader: Reader, sent: ReadonlySet<number> = new Set()) =>
    picker.pick({
      reader,
      list: list(reader.topics),
      papers: candidates,
      extra: papers.map((p) => p.id),
      isSent: (id) => sent.has(id),
    });
  return { f, candidates, list, pick };
}

const WORDS = ['lora', 'retrieval', 'attention', 'prompt', 'vision', 'continual', 'adapter', 'search'];

/** Random small corpora: titles and abstracts from a few words, trend scores with ties. */
const corpus = fc
  .array(
    fc.record({
      title: fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 3 }),
      abstract: fc.array(fc.constantFrom(...WORDS), { maxLength: 4 }),
      trend: fc.integer({ min: 0, max: 5 }),
      author: fc.constantFrom('Ada Lovelace', 'Alan Turing', 'Grace Hopper'),
    }),
    { minLength: 1, maxLength: 30 },
  )
  .map((rows) =>
    rows.map(
      (r, i): TestPaper => ({
        id: i + 1,
        title: r.title.join(' '),
        abstract: r.abstract.join(' '),
        trendScore: r.trend / 2,
        authors: [r.author],
      }),
    ),
  );

const scenario = fc.record({
  papers: corpus,
  topics: fc.uniqueArray(fc.constantFrom(...WORDS, 'in-context learning', 'the'), { maxLength: 3 }),
  sentShare: fc.integer({ min: 0, max: 3 }),
  maxPapers: fc.integer({ min: 1, max: 12 }),
});

describe('a reader who has voted nothing', () => {
  it("gets today's order exactly: the list walked, with today's reasons", () => {
    fc.assert(
      fc.property(scenario, ({ papers, topics, sentShare, maxPapers }) => {
        const { candidates, list, pick } = setUp(papers);
        const sent = new Set(papers.filter((p) => p.id % 4 < sentShare).map((p) => p.id));
        const today = walkList(list(topics), (id) => sent.has(id), maxPapers).map((p, i) => ({
          paperId: p.paperId,
          place: i + 1,
          reason: listReason(p.matched, (candidates.get(p.paperId) as Candidate).trendReason),
          score: null,
        }));
        expect(pick({ topics, maxPapers }, sent)).toEqual(today);
        // A model of no votes (every vote undone) is no model.
        const empty: ReaderModel = { terms: ['lora'], weights: [5], liked: [], votes: 0 };
        expect(pick({ topics, maxPapers, model: empty }, sent)).toEqual(today);
      }),
    );
  });

  it("gets followed authors' papers first, then today's order without them", () => {
    fc.assert(
      fc.property(scenario, ({ papers, topics, maxPapers }) => {
        const { list, pick } = setUp(papers);
        const picks = pick({ topics, maxPapers, followedAuthors: ['grace  HOPPER'] });
        const byHopper = papers.filter((p) => p.authors?.includes('Grace Hopper'));
        const first = picks.slice(0, Math.min(byHopper.length, maxPapers));
        for (const p of first) expect(p.reason).toMatch(/^by Grace Hopper, whom you follow/);
        // Among themselves by trend, then the list without them.
        const expectedFirst = [...byHopper].sort((a, b) => b.trendScore - a.trendScore || a.id - b.id).map((p) => p.id);
        expect(first.map((p) => p.paperId)).toEqual(expectedFirst.slice(0, first.length));
        const rest = walkList(list(topics), (id) => expectedFirst.includes(id), maxPapers - first.length);
        expect(picks.slice(first.length).map((p) => p.paperId)).toEqual(rest.map((p) => p.paperId));
      }),
    );
  });
});

describe('excluded terms', () => {
  it('keep every paper matching one out, voted or not, followed or not', () => {
    fc.assert(
      fc.property(scenario, fc.constantFrom(...WORDS), fc.boolean(), ({ papers, topics, maxPapers }, term, voted) => {
        const { f, candidates, pick } = setUp(papers);
        const liked = papers[0] as TestPaper;
        const model = voted
          ? trainModel(f, {
              votes: [{ paperId: liked.id, value: 1, title: liked.title, vector: f.vector(liked) }],
              topics,
              background: [],
            })
          : undefined;
        const picks = pick({
          topics,
          maxPapers,
          model,
          excludedTerms: [term],
          followedAuthors: ['Ada Lovelace'],
        });
        const [phrase] = compilePhrases(f, [term]);
        const allowed = papers.filter(
          (p) => !phrase || !matchesPhrase((candidates.get(p.id) as Candidate).features.textTerms, phrase),
        );
        for (const p of picks) expect(allowed.map((a) => a.id)).toContain(p.paperId);
        // Nothing else is lost: the digest is as full as the papers left allow.
        if (voted) expect(picks).toHaveLength(Math.min(maxPapers, allowed.length));
      }),
    );
  });

  it('match as topics do: every word of the term, stemmed', () => {
    const { pick } = setUp([
      { id: 1, title: 'Retrieving passages with search agents', trendScore: 3 },
      { id: 2, title: 'Vision transformers', trendScore: 2 },
      { id: 3, title: 'Search without retrieval heads', trendScore: 1 },
    ]);
    expect(pick({ topics: [], maxPapers: 10, excludedTerms: ['retrieval search'] }).map((p) => p.paperId)).toEqual([2]);
    expect(pick({ topics: [], maxPapers: 10, excludedTerms: ['unheard-of'] }).map((p) => p.paperId)).toEqual([1, 2, 3]);
  });

  it('keep out a paper whose words no paper had when the term was first seen', () => {
    const f = new Featurizer();
    const first = { id: 1, title: 'Vision transformers', trendScore: 2 };
    f.fit([first]);
    const picker = new Picker(f);
    const candidate = (p: TestPaper): Candidate => ({
      id: p.id,
      title: p.title,
      authors: [],
      organizations: [],
      features: f.features(p),
      trendScore: p.trendScore,
      trendReason: '',
      attention: 0,
    });
    const reader = { topics: [], maxPapers: 5, excludedTerms: ['quantum'] };
    const papers = new Map([[1, candidate(first)]]);
    const list = { ids: [1], matched: [null] };
    expect(picker.pick({ reader, list, papers, isSent: () => false }).map((p) => p.paperId)).toEqual([1]);
    // A new planning window brings a paper about it.
    papers.set(2, candidate({ id: 2, title: 'Quantum annealing', trendScore: 3 }));
    const later = { ids: [2, 1], matched: [null, null] };
    expect(picker.pick({ reader, list: later, papers, isSent: () => false }).map((p) => p.paperId)).toEqual([1]);
  });
});

describe('follows', () => {
  it('name the author or organization followed, whatever the spelling', () => {
    const { pick } = setUp([
      { id: 1, title: 'Trending first', trendScore: 9 },
      { id: 2, title: 'By a lab', trendScore: 1, organizations: ['University of Modena'] },
      { id: 3, title: 'By a person', trendScore: 2, authors: ['Ana Ruíz', 'Marco Garosi'] },
    ]);
    const picks = pick({
      topics: [],
      maxPapers: 3,
      followedAuthors: ['ana ruiz'],
      followedOrganizations: ['university of MODENA'],
    });
    expect(picks.map((p) => [p.paperId, p.reason])).toEqual([
      [3, 'by Ana Ruíz, whom you follow · trend 2'],
      [2, 'from University of Modena, which you follow · trend 1'],
      [1, 'trend 9'],
    ]);
  });
});

describe('a reader with a model', () => {
  const papers: TestPaper[] = [
    {
      id: 1,
      title: 'LoRA: Low-Rank Adaptation of Large Language Models',
      abstract: 'low-rank adapters',
      trendScore: 1,
    },
    {
      id: 2,
      title: 'QLoRA: efficient finetuning of quantized adapters',
      abstract: 'low-rank adapters, 4-bit',
      trendScore: 1,
    },
    {
      id: 3,
      title: 'Dense passage retrieval',
      abstract: 'retrieval of passages for question answering',
      trendScore: 5,
    },
    { id: 4, title: 'Vision transformers at scale', abstract: 'image classification', trendScore: 6 },
    { id: 5, title: 'Tied-LoRA: weight tying for low-rank adapters', abstract: 'parameter efficiency', trendScore: 2 },
    { id: 6, title: 'Retrieval-augmented generation', abstract: 'retrieval for language models', trendScore: 4 },
  ];

  it('brings up what they liked, and says which liked paper a pick is like', () => {
    const { f, pick } = setUp(papers);
    const liked = papers[0] as TestPaper;
    const model = trainModel(f, {
      votes: [
        { paperId: 1, value: 1, title: liked.title, vector: f.vector(liked) },
        { paperId: 3, value: -1, title: 'Dense passage retrieval', vector: f.vector(papers[2] as TestPaper) },
      ],
      topics: [],
      background: papers.map((p) => f.vector(p)),
    });
    const picks = pick({ topics: [], maxPapers: 3, model }, new Set([1, 3]));
    expect(picks.slice(0, 2).map((p) => p.paperId)).toEqual([5, 2]);
    expect(picks[0]?.reason).toBe('like "LoRA: Low-Rank Adaptation of Large Language…" you liked · trend 2');
    expect(picks.every((p) => typeof p.score === 'number')).toBe(true);
  });

  it("still gets followed authors' papers first, however the model scores them", () => {
    const { f, pick } = setUp(papers.map((p) => (p.id === 4 ? { ...p, authors: ['Alan Turing'] } : p)));
    const liked = papers[0] as TestPaper;
    const model = trainModel(f, {
      votes: [{ paperId: 1, value: 1, title: liked.title, vector: f.vector(liked) }],
      topics: [],
      background: [],
    });
    const picks = pick({ topics: [], maxPapers: 3, model, followedAuthors: ['Alan Turing'] }, new Set([1]));
    expect(picks.map((p) => p.paperId)).toEqual([4, 5, 2]);
    expect(picks[0]?.reason).toBe('by Alan Turing, whom you follow · trend 6');
  });

  it('ranks a strong topic match above a weak one: more topics, in the title', () => {
    const { pick } = setUp([
      { id: 1, title: 'Something else', abstract: 'mentions retrieval once', trendScore: 1 },
      { id: 2, title: 'Retrieval with prompt tuning', trendScore: 1 },
      { id: 3, title: 'Retrieval at scale', trendScore: 1 },
      { id: 4, title: 'Unrelated', trendScore: 1 },
    ]);
    // A model that knows nothing yet (votes on papers outside the window).
    const neutral: ReaderModel = { terms: [], weights: [], liked: [], votes: 1 };
    const picks = pick({ topics: ['retrieval', 'prompt tuning'], maxPapers: 4, model: neutral });
    expect(picks.map((p) => p.paperId)).toEqual([2, 3, 1, 4]);
    expect(picks.map((p) => p.reason)).toEqual([
      'matches: retrieval (title), prompt tuning (title) · trend 1',
      'matches: retrieval (title) · trend 1',
      'matches: retrieval · trend 1',
      'trend 1',
    ]);
    // The same order for a reader without votes who asks for graded topics, where today's order
    // lists the matches by trend alone (ties by id).
    const graded = pick({ topics: ['retrieval', 'prompt tuning'], maxPapers: 4, gradedTopics: true });
    expect(graded.map((p) => p.paperId)).toEqual([2, 3, 1, 4]);
    expect(pick({ topics: ['retrieval', 'prompt tuning'], maxPapers: 4 }).map((p) => p.paperId)).toEqual([1, 2, 3, 4]);
  });

  it('ranks real attention above none, other things equal', () => {
    const { pick } = setUp([
      { id: 1, title: 'Quiet retrieval', trendScore: 1 },
      { id: 2, title: 'Loud retrieval', trendScore: 1, attention: 80 },
    ]);
    const neutral: ReaderModel = { terms: [], weights: [], liked: [], votes: 1 };
    expect(pick({ topics: ['retrieval'], maxPapers: 2, model: neutral }).map((p) => p.paperId)).toEqual([2, 1]);
  });
});

describe('shortening a title', () => {
  it('cuts at a word within the length, with an ellipsis', () => {
    expect(shorten('LoRA: Low-Rank Adaptation of Large Language Models', 30)).toBe('LoRA: Low-Rank Adaptation of…');
    expect(shorten('Short', 30)).toBe('Short');
    expect(shorten('Averyveryverylongwordwithoutspaces', 10)).toBe('Averyvery…');
  });
});
