import { describe, expect, it } from 'vitest';
import { mergePaper } from './merge.ts';

const now = new Date('2026-03-06T12:00:00Z');

describe('merging a reported paper into its row', () => {
  const seed = mergePaper(
    undefined,
    { title: 'LoQT: Low Rank Adapters for Quantized Training', abstract: 'Seed abstract.', seedPosition: 2 },
    'seed',
    new Date('2026-03-01T00:00:00Z'),
  ).row;

  it('creates a row that is news from when it was featured, else published, else now', () => {
    const featured = mergePaper(
      undefined,
      {
        title: 'A',
        abstract: '',
        featuredAt: new Date('2026-03-06T03:00:00Z'),
        publishedAt: new Date('2026-03-01T00:00:00Z'),
      },
      'hf',
      now,
    );
    expect(featured.row.fresh_at).toEqual(new Date('2026-03-06T03:00:00Z'));
    expect(
      mergePaper(undefined, { title: 'B', abstract: '', publishedAt: new Date('2026-03-01T00:00:00Z') }, 'arxiv', now)
        .row.fresh_at,
    ).toEqual(new Date('2026-03-01T00:00:00Z'));
    expect(seed.fresh_at).toEqual(new Date('2026-03-01T00:00:00Z'));
  });

  it('merges the same title from the seed page and an API, keeping the page position', () => {
    const { row, changed } = mergePaper(
      seed,
      {
        title: 'LoQT: Low-Rank Adapters for Quantized Training',
        abstract: 'Full abstract.',
        arxivId: '2405.16528',
        upvotes: 12,
        featuredAt: now,
      },
      'hf',
      now,
    );
    expect(changed).toBe(true);
    expect(row).toMatchObject({
      arxiv_id: '2405.16528',
      seed_position: 2,
      upvotes: 12,
      sources: ['seed', 'hf'],
      abstract: 'Full abstract.',
      fresh_at: now,
    });
  });

  it('takes the text of a newer arXiv version and never that of an older one', () => {
    const v1 = mergePaper(
      undefined,
      { title: 'Old Title', abstract: 'v1', arxivId: '2603.00001', arxivVersion: 1 },
      'arxiv',
      now,
    ).row;
    const v2 = mergePaper(
      v1,
      { title: 'New Title', abstract: 'v2', arxivId: '2603.00001', arxivVersion: 2 },
      'arxiv',
      now,
    ).row;
    expect(v2).toMatchObject({ title: 'New Title', abstract: 'v2', arxiv_version: 2, title_key: 'new title' });
    const stale = mergePaper(
      v2,
      { title: 'Old Title', abstract: 'v1', arxivId: '2603.00001', arxivVersion: 1 },
      'arxiv',
      now,
    );
    expect(stale.row).toMatchObject({ title: 'New Title', abstract: 'v2', arxiv_version: 2 });
    expect(stale.changed).toBe(false);
  });

  it('keeps lists and signals a source does not report, and reports no change for the same data', () => {
    const hf = mergePaper(
      undefined,
      { title: 'T', abstract: 'a', arxivId: '2603.00002', keywords: ['k'], upvotes: 5, githubStars: 3 },
      'hf',
      now,
    ).row;
    const arxiv = mergePaper(
      hf,
      { title: 'T', abstract: 'a', arxivId: '2603.00002', arxivVersion: 1, categories: ['cs.LG'] },
      'arxiv',
      now,
    );
    expect(arxiv.row).toMatchObject({
      keywords: ['k'],
      upvotes: 5,
      github_stars: 3,
      categories: ['cs.LG'],
      sources: ['hf', 'arxiv'],
    });
    expect(
      mergePaper(arxiv.row, { title: 'T', abstract: 'a', arxivId: '2603.00002', categories: ['cs.LG'] }, 'arxiv', now)
        .changed,
    ).toBe(false);
  });
});
