import { type Featurizer, hasId, type PaperFeatures } from './features.ts';

/** A reader's text (a topic, an excluded term) as the term ids a paper must all have. */
export interface Phrase {
  text: string;
  ids: readonly number[];
}

export interface TopicHit {
  topic: string;
  inTitle: boolean;
}

/**
 * Compiles texts to phrases. A text with a term no paper has, or of stop words only, matches
 * nothing and is left out (as PostgreSQL skips a topic whose query has no terms).
 */
export function compilePhrases(f: Featurizer, texts: readonly string[]): Phrase[] {
  const out: Phrase[] = [];
  for (const text of texts) {
    const ids = f.termsOf(text);
    if (ids.length > 0 && ids.every((id) => id !== undefined)) out.push({ text, ids: ids as number[] });
  }
  return out;
}

/** Every term of the phrase is in the paper's title, keywords or abstract (or, with `terms`, those). */
export const matchesPhrase = (terms: Int32Array, p: Phrase) => p.ids.every((id) => hasId(terms, id));

/** How a paper matches a phrase: 0 not, 1 in its title, keywords or abstract, 2 in its title. */
export type MatchLevel = 0 | 1 | 2;

export function matchLevel(features: PaperFeatures, p: Phrase): MatchLevel {
  if (!matchesPhrase(features.textTerms, p)) return 0;
  return matchesPhrase(features.titleTerms, p) ? 2 : 1;
}

/** Which of the topics a paper matches, and whether in its title. */
export function topicHits(features: PaperFeatures, topics: readonly Phrase[]): TopicHit[] {
  const hits: TopicHit[] = [];
  for (const t of topics) {
    const level = matchLevel(features, t);
    if (level > 0) hits.push({ topic: t.text, inTitle: level === 2 });
  }
  return hits;
}

/** A title match counts this much on top of the share of topics matched. */
export const TITLE_BONUS = 0.5;

/**
 * Topic strength, 0 to 1.5, from how the paper matches each of the reader's topics: the share of
 * the topics it matches, plus TITLE_BONUS when one of them matches in the title. Two topics of two
 * beat one of two; a title match beats a passing mention in the abstract.
 */
export function topicStrength(levels: readonly MatchLevel[]): number {
  let matched = 0;
  let inTitle = false;
  for (const level of levels) {
    if (level > 0) matched++;
    if (level === 2) inTitle = true;
  }
  return matched === 0 ? 0 : matched / levels.length + (inTitle ? TITLE_BONUS : 0);
}
