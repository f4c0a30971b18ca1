import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { paths } from '../../core/paths.ts';
import { parseSeedPage } from './seed-page.ts';

describe('seed page parser', () => {
  const text = readFileSync(path.join(paths.seeds, '000_beef877ba1362dc4.txt'), 'utf8');

  it('reads 271 entries and merges the paper listed twice into 270 papers', () => {
    const { papers, entries } = parseSeedPage(text);
    expect(entries).toBe(271);
    expect(papers).toHaveLength(270);
    expect(papers.filter((p) => p.title.startsWith('AdaMix'))).toHaveLength(1);
  });

  it('strips the header lines and the Subscribe button glued to the first title', () => {
    const { papers } = parseSeedPage(text);
    expect(papers[0]).toMatchObject({
      title: 'Parameter-Efficient Orthogonal Finetuning via Butterfly Factorization',
      seedPosition: 1,
    });
    expect(papers[0]?.abstract).toMatch(/^Large foundation models are becoming ubiquitous/);
    expect(papers.at(-1)?.title).toBe('Prompting Large Language Model for Machine Translation: A Case Study');
    expect(papers.map((p) => p.seedPosition)).toEqual(papers.map((_, i) => i + 1));
  });

  it('keeps page order as the ranking and the first position of a duplicate', () => {
    const page = [
      'Get trending papers in your email inbox once a day!',
      'SubscribeFirst  Paper',
      'Abstract one\twith  spaces.',
      'Second paper',
      'Abstract two.',
      'first paper',
      'Duplicate abstract.',
    ].join('\n');
    const { papers, entries } = parseSeedPage(page);
    expect(entries).toBe(3);
    expect(papers).toEqual([
      { title: 'First Paper', abstract: 'Abstract one with spaces.', seedPosition: 1 },
      { title: 'Second paper', abstract: 'Abstract two.', seedPosition: 2 },
    ]);
  });
});
