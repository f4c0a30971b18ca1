import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../core/paths.ts';
import { parseArxivAtom } from './arxiv-atom.ts';
import { parseHfDaily } from './hf-daily.ts';

const fixture = (name: string) => readFileSync(path.join(ROOT, 'test/fixtures', name), 'utf8');

describe('Hugging Face daily papers', () => {
  const { papers, entries, skipped } = parseHfDaily(fixture('hf-daily-papers.json'));

  it('reads every field Paperboy uses, from where the API puts it', () => {
    expect(entries).toBe(6);
    expect(papers[0]).toEqual({
      title: 'Large Multimodal Models as General In-Context Classifiers',
      abstract:
        'Which multimodal model should we use for classification? We show that large multimodal models (LMMs) are strong in-context classifiers.',
      arxivId: '2602.23229',
      arxivVersion: undefined,
      authors: ['Marco Garosi', 'Ana Ruiz'],
      keywords: ['in-context learning', 'CIRCLE', 'multimodal'],
      publishedAt: new Date('2026-02-26T17:08:18.000Z'),
      featuredAt: new Date('2026-03-06T03:55:12.777Z'),
      organization: 'University of Modena',
      aiSummary: 'Large Multimodal Models demonstrate strong in-context classification.',
      githubRepo: 'https://github.com/marco-garosi/CIRCLE',
      projectPage: 'https://circle-lmm.github.io/',
      upvotes: 10,
      comments: 1,
      githubStars: 9,
    });
  });

  it('names the organization by its full name, else its handle, and takes no odd one', () => {
    const org = (organization: unknown, ai_summary?: unknown) =>
      parseHfDaily(JSON.stringify([{ paper: { id: '2603.00001', title: 'T', organization, ai_summary } }])).papers[0];
    expect(org({ name: 'unimore' })).toMatchObject({ organization: 'unimore' });
    expect(org({ name: 'x', fullname: '  Lab\n of  Things ' }, ' One  line. ')).toMatchObject({
      organization: 'Lab of Things',
      aiSummary: 'One line.',
    });
    expect(org('a string', 42)).toMatchObject({ organization: undefined, aiSummary: undefined });
    expect(org({}, '')).toMatchObject({ organization: undefined, aiSummary: undefined });
  });

  it('treats optional fields as optional and odd values as absent', () => {
    expect(papers[1]).toMatchObject({
      arxivId: '2603.01234',
      upvotes: 42,
      comments: 3,
      githubStars: undefined,
      keywords: [],
    });
    const odd = papers.find((p) => p.arxivId === '2603.06666');
    expect(odd).toMatchObject({
      title: 'Odd Fields: Nulls and Strings',
      abstract: '',
      upvotes: undefined,
      featuredAt: undefined,
      authors: [],
    });
  });

  it('skips what is unusable and says why', () => {
    expect(papers.map((p) => p.arxivId)).toEqual(['2602.23229', '2603.01234', '2603.06666']);
    expect(skipped).toEqual([
      { reason: 'withdrawn', entry: '2603.04444' },
      { reason: 'no title', entry: '2603.05555' },
      { reason: 'invalid paper', entry: '#4' },
    ]);
  });

  it('passes any number through for the limits to judge', () => {
    const item = (paper: object) => ({ paper: { id: '2603.07777', title: 'Numbers', ...paper } });
    const { papers: read, skipped: bad } = parseHfDaily(
      JSON.stringify([item({ upvotes: 1e30, githubStars: -3 }), { ...item({}), numComments: 2.5 }]),
    );
    expect(read.map((p) => [p.upvotes, p.githubStars, p.comments])).toEqual([
      [1e30, -3, undefined],
      [undefined, undefined, 2.5],
    ]);
    expect(bad).toEqual([]);
  });

  it('strips control characters from the text it reads', () => {
    const { papers: read } = parseHfDaily(
      JSON.stringify([
        {
          paper: { id: '2603.08888', title: 'Nul\u0000 Title', summary: 'A\u0000b', authors: [{ name: 'Ada\u0000' }] },
        },
      ]),
    );
    expect(read[0]).toMatchObject({ title: 'Nul Title', abstract: 'Ab', authors: ['Ada'] });
  });

  it('fails clearly on something that is not the daily-papers array', () => {
    expect(() => parseHfDaily('<html>')).toThrow(/not JSON/);
    expect(() => parseHfDaily('{"error":"rate limited"}')).toThrow(/expected a JSON array/);
  });
});

describe('arXiv Atom', () => {
  const { papers, entries, skipped } = parseArxivAtom(fixture('arxiv-cs-lg.atom'));

  it('strips the version from the id and normalises whitespace and LaTeX-ish runs', () => {
    expect(entries).toBe(4);
    expect(papers[0]).toEqual({
      title: 'Large Multimodal Models as General In-Context Classifiers (Extended)',
      abstract:
        'Which multimodal model should we use for classification? We show that large multimodal models (LMMs) are strong in-context classifiers, and extend the study to video.',
      arxivId: '2602.23229',
      arxivVersion: 2,
      authors: ['Marco Garosi', 'Ana Ruiz'],
      categories: ['cs.CV', 'cs.LG'],
      publishedAt: new Date('2026-02-26T17:08:18Z'),
    });
    expect(papers[1]).toMatchObject({
      title: 'Diffusion Policies with Line Breaks and Ties',
      abstract: 'Diffusion models for control & planning.',
      categories: ['cs.RO'],
    });
  });

  it('reads old-style identifiers and skips error entries', () => {
    expect(papers[2]).toMatchObject({ arxivId: 'hep-th/9901001', arxivVersion: 3, categories: ['hep-th'] });
    expect(skipped).toEqual([
      { reason: 'not an arXiv id', entry: 'http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345v1' },
    ]);
  });

  it('strips a raw NUL from the text and refuses an absurd archive name as an arXiv id', () => {
    const feed = (id: string, title: string) =>
      `<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/abs/${id}</id><title>${title}</title></entry></feed>`;
    expect(parseArxivAtom(feed('2603.00001v99999999999', 'A\u0000 NUL')).papers[0]).toMatchObject({
      title: 'A NUL',
      arxivVersion: 99_999_999_999,
    });
    expect(parseArxivAtom(feed(`${'a'.repeat(5000)}/1234567v1`, 'Long')).skipped).toEqual([
      { reason: 'not an arXiv id', entry: `http://arxiv.org/abs/${'a'.repeat(5000)}/1234567v1` },
    ]);
  });

  it('fails clearly on something that is not a feed', () => {
    expect(() => parseArxivAtom('{"json": true}')).toThrow(/not an Atom feed/);
  });
});
