import { describe, expect, it } from 'vitest';
import { checkPaper, OTHER_REASONS, PAPER_LIMITS, type SkipTally, tallySkip } from './limits.ts';
import type { PaperInput } from './model.ts';

const now = new Date('2026-03-06T12:00:00Z');
const good: PaperInput = {
  title: 'A Good Paper',
  abstract: 'It is fine.',
  arxivId: '2603.00001',
  arxivVersion: 2,
  authors: ['Ada Lovelace'],
  keywords: ['lora'],
  categories: ['cs.LG'],
  publishedAt: new Date('2026-03-01T00:00:00Z'),
  featuredAt: new Date('2026-03-06T03:00:00Z'),
  githubRepo: 'https://github.com/a/b',
  projectPage: 'http://example.org/p',
  upvotes: 0,
  comments: 3,
  githubStars: PAPER_LIMITS.maxCount,
  seedPosition: 1,
};
const reason = (change: Partial<PaperInput>) => {
  const r = checkPaper({ ...good, ...change }, now);
  return 'reason' in r ? r.reason : undefined;
};
const paper = (change: Partial<PaperInput>) => {
  const r = checkPaper({ ...good, ...change }, now);
  if ('reason' in r) throw new Error(`skipped: ${r.reason}`);
  return r.paper;
};

describe('checking a reported paper against the limits', () => {
  it('passes a real paper as it is', () => {
    expect(checkPaper(good, now)).toEqual({ paper: good });
  });

  it('strips control characters (NUL among them) from every text, keeping the entry', () => {
    expect(
      paper({
        title: '\u0000Nul\u0000 Title\u001b',
        abstract: 'Line\none\u0000.\u0085',
        authors: ['Ada\u0000', '\u0007'],
        keywords: ['lo\u0000ra'],
        categories: ['cs.\u0000LG'],
      }),
    ).toMatchObject({
      title: 'Nul Title',
      abstract: 'Line\none.',
      authors: ['Ada'],
      keywords: ['lora'],
      categories: ['cs.LG'],
    });
    expect(reason({ title: '\u0000\u0001 ' })).toBe('no title');
  });

  it('skips text over its limit, counting characters and, for a title, bytes', () => {
    expect(reason({ title: 't'.repeat(1000) })).toBeUndefined();
    expect(reason({ title: 't'.repeat(1001) })).toBe('title over 1000 characters');
    // 700 three-byte characters: under the character limit, over what an index entry holds.
    expect(reason({ title: '漢'.repeat(700) })).toBe('title over 2000 bytes');
    expect(reason({ abstract: 'a'.repeat(20_000) })).toBeUndefined();
    expect(reason({ abstract: 'a'.repeat(20_001) })).toBe('abstract over 20000 characters');
    expect(reason({ authors: ['Ada', 'n'.repeat(301)] })).toBe('author name over 300 characters');
    expect(reason({ organization: 'o'.repeat(301) })).toBe('organization over 300 characters');
    expect(reason({ aiSummary: 's'.repeat(1_001) })).toBe('summary over 1000 characters');
    expect(paper({ organization: ' Lab\u0000 ', aiSummary: '\u0007' })).toMatchObject({
      organization: 'Lab',
      aiSummary: undefined,
    });
    expect(reason({ keywords: ['k'.repeat(101)] })).toBe('keyword over 100 characters');
    expect(reason({ categories: ['c'.repeat(101)] })).toBe('category over 100 characters');
  });

  it('keeps the first entries of a list that is too long', () => {
    const authors = Array.from({ length: 1350 }, (_, i) => `Author ${i}`);
    const kept = paper({ authors, keywords: authors, categories: authors });
    expect(kept.authors).toEqual(authors.slice(0, 500));
    expect(kept.keywords).toHaveLength(100);
    expect(kept.categories).toHaveLength(50);
  });

  it('skips counts and versions out of range', () => {
    for (const n of [-1, 1.5, 2 ** 31, 1e30, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(reason({ upvotes: n })).toBe('upvotes out of range');
      expect(reason({ comments: n })).toBe('comments out of range');
      expect(reason({ githubStars: n })).toBe('GitHub stars out of range');
    }
    expect(reason({ seedPosition: 0 })).toBe('seed position out of range');
    expect(reason({ arxivVersion: 0 })).toBe('arXiv version out of range');
    expect(reason({ arxivVersion: 99_999_999_999 })).toBe('arXiv version out of range');
    expect(reason({ arxivVersion: 1000 })).toBeUndefined();
  });

  it('skips dates before 1900, more than a week ahead of the clock, or invalid', () => {
    expect(reason({ publishedAt: new Date('1899-12-31T23:59:59Z') })).toBe('publication date out of range');
    expect(reason({ publishedAt: new Date('-010000-01-01T00:00:00Z') })).toBe('publication date out of range');
    expect(reason({ featuredAt: new Date('2026-03-13T12:00:01Z') })).toBe('featured date out of range');
    expect(reason({ featuredAt: new Date('2026-03-13T12:00:00Z') })).toBeUndefined();
    expect(reason({ featuredAt: new Date(Number.NaN) })).toBe('featured date out of range');
  });

  it('skips an arXiv id that is not one, and drops a link that is not http(s)', () => {
    expect(reason({ arxivId: '2603.0000\u0000' })).toBe('not an arXiv id');
    expect(reason({ arxivId: `${'a'.repeat(1000)}/1234567` })).toBe('not an arXiv id');
    expect(reason({ arxivId: 'hep-th/9901001' })).toBeUndefined();
    for (const url of [
      'javascript:alert(1)',
      'https://x.org/\u0000',
      'https://x.org/a b',
      `https://x.org/${'p'.repeat(2000)}`,
    ]) {
      expect(paper({ githubRepo: url, projectPage: url })).toMatchObject({
        githubRepo: undefined,
        projectPage: undefined,
      });
    }
  });
});

describe('tallying skipped entries', () => {
  const tally = (): SkipTally => ({ skipped: 0, skippedReasons: {}, skippedEntries: [] });

  it('counts every entry but names the first 20, short and printable', () => {
    const t = tally();
    for (let i = 0; i < 500; i++) tallySkip(t, { reason: 'withdrawn', entry: `#${i}` });
    tallySkip(t, { reason: 'late', entry: 'x' });
    expect(t.skipped).toBe(501);
    expect(t.skippedReasons).toEqual({ withdrawn: 500, late: 1 });
    expect(t.skippedEntries).toHaveLength(20);
    const u = tally();
    tallySkip(u, { reason: 'no\u0000 title', entry: `\u0000${'e'.repeat(1000)}` });
    expect(u.skippedEntries).toEqual([{ reason: 'no title', entry: `${'e'.repeat(199)}…` }]);
  });

  it('counts at most 20 reasons, the rest together', () => {
    const t = tally();
    for (let i = 0; i < 50; i++) tallySkip(t, { reason: `reason ${i}`, entry: `#${i}` });
    tallySkip(t, { reason: 'reason 3', entry: 'again' });
    tallySkip(t, { reason: 'toString', entry: 'a name an object already has' });
    expect(Object.keys(t.skippedReasons)).toHaveLength(20);
    expect(t.skippedReasons['reason 3']).toBe(2);
    expect(t.skippedReasons[OTHER_REASONS]).toBe(32);
    expect(Object.values(t.skippedReasons).reduce((a, b) => a + b)).toBe(52);
  });
});
