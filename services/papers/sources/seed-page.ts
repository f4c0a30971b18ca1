import type { PaperInput, Parsed } from '../model.ts';
import { cleanText, titleKey } from '../normalize.ts';
import { definePaperSource } from './source.ts';

const HEADER = /^Get trending papers in your email inbox/;
const BUTTON = /^Subscribe/;

/**
 * The page Paperboy started from: two header lines, then the word "Subscribe" glued to the first
 * title, then alternating title and abstract lines. Page order is the page's ranking, so each
 * paper's position is its only signal. A paper listed twice keeps its first (higher) position.
 */
export function parseSeedPage(text: string): Parsed {
  const lines = text.split(/\r?\n/);
  let i = 0;
  while (i < lines.length && (HEADER.test(lines[i] ?? '') || (lines[i] ?? '').trim() === '')) i++;
  if (i < lines.length) lines[i] = (lines[i] ?? '').replace(BUTTON, '');

  const papers: PaperInput[] = [];
  const skipped: Parsed['skipped'] = [];
  const seen = new Set<string>();
  let entries = 0;
  for (; i + 1 < lines.length; i += 2) {
    const title = cleanText(lines[i] ?? '');
    const abstract = cleanText(lines[i + 1] ?? '');
    if (!title) continue;
    entries++;
    const key = titleKey(title);
    if (seen.has(key)) {
      skipped.push({ reason: 'listed twice on the page', entry: title });
      continue;
    }
    seen.add(key);
    papers.push({ title, abstract, seedPosition: papers.length + 1 });
  }
  return { papers, entries, skipped };
}

/** Loaded from `seeds/` at every start (and by `paperboy seed`); never on the scheduler's round. */
export const seedPage = definePaperSource({ name: 'seed', parse: parseSeedPage });
