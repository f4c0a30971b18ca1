import { pluralStem, porterStem } from './stem.ts';

export type Stemming = 'none' | 'plural' | 'porter';

export interface TokenizeOptions {
  /** Default `porter`: bench/relevance.ts measured it best of the three (docs/relevance.md). */
  stemming?: Stemming;
  /**
   * Also emit a hyphenated word joined ("low-rank" → low, rank, lowrank), so "multi-task" and
   * "multitask" meet. Default on.
   */
  compounds?: boolean;
}

/**
 * English function words and the boilerplate of abstracts ("we propose a novel method"): words
 * that say nothing about what a paper is about. Matched before stemming.
 */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'a about above after again against all also am an and any are as at be because been before being below ' +
    'between both but by can could did do does doing down during each either etc few for from further had has ' +
    'have having he her here hers him his how however i if in into is it its itself just let may me might more ' +
    'most much must my no nor not now of off on once one only or other our ours out over own per rather same ' +
    'she should since so some such than that the their them then there these they this those though through ' +
    'thus to too under until up upon us use used uses using very via was we were what when where whether which ' +
    'while who whom why will with within without would yet you your ' +
    // Abstract boilerplate.
    'approach approaches based demonstrate demonstrates existing furthermore introduce method methods novel ' +
    'paper propose proposed results show shows study significantly work'
  ).split(' '),
);

const MARKS = /\p{M}+/gu;
// A word: letters and digits, possibly joined by hyphens ("in-context", "gpt-4").
const WORD = /[\p{L}\p{N}]+(?:-[\p{L}\p{N}]+)*/gu;

function stemmer(stemming: Stemming): (w: string) => string {
  if (stemming === 'porter') return porterStem;
  if (stemming === 'plural') return pluralStem;
  return (w) => w;
}

/** Lowercase, accents off, possessives and apostrophes dropped: "Giant's Shoulders" → giant shoulders. */
export function foldText(text: string): string {
  return text
    .normalize('NFKD')
    .replace(MARKS, '')
    .toLowerCase()
    .replace(/['’]s\b/g, '')
    .replace(/['’]/g, '');
}

const keep = (w: string) => w.length > 1 && !STOP_WORDS.has(w) && !/^\d+$/.test(w);

/**
 * The terms of a piece of paper text, in order: folded, split into words, stop words, single
 * characters and bare numbers dropped ("7b", "3d" and "gpt-4" stay), then stemmed.
 */
export function tokenize(text: string, opts: TokenizeOptions = {}): string[] {
  return terms(text, opts).map(([term]) => term);
}

/** tokenize's terms, each with the word it came from ("adapt", "adapters"), to show a term as a word. */
export function terms(text: string, opts: TokenizeOptions = {}): [term: string, word: string][] {
  const stem = stemmer(opts.stemming ?? 'porter');
  const compounds = opts.compounds ?? true;
  const out: [string, string][] = [];
  for (const [word] of foldText(text).matchAll(WORD)) {
    if (!word.includes('-')) {
      if (keep(word)) out.push([stem(word), word]);
      continue;
    }
    const parts = word.split('-');
    for (const part of parts) if (keep(part)) out.push([stem(part), part]);
    if (compounds) {
      const joined = parts.join('');
      if (keep(joined)) out.push([stem(joined), word]);
    }
  }
  return out;
}

/**
 * The key under which a person or organization is followed and matched: accents, case, periods
 * and spacing vanish ("A.  Ruíz" and "a ruiz" agree). Names are not stemmed or split.
 */
export function nameKey(name: string): string {
  return foldText(name)
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/**
 * A name key's letters a–z and digits only: what PostgreSQL compares to find the papers a name may
 * be on (regexp_replace(lower(normalize(name, NFKD)), '[^a-z0-9]', '', 'g'), interests.sql), a
 * coarse filter whose hits are checked by nameKey. Empty for a name with no Latin letter or digit.
 */
export const nameLetters = (name: string) => nameKey(name).replace(/[^a-z0-9]/g, '');
