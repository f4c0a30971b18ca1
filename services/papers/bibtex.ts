import { paperUrl } from './presentation.ts';

/**
 * BibTeX of a list of papers (a digest's, the papers a reader liked): one @misc entry per paper, with
 * the arXiv fields (eprint, archivePrefix, primaryClass) when the paper has an arXiv id. Pure: the
 * caller reads the papers and serves the text.
 */

/** A paper as a citation needs it. */
export interface CitedPaper {
  title: string;
  authors: string[];
  arxivId: string | null;
  /** arXiv categories, the primary one first, when a source gave them. */
  categories: string[];
  year: number | null;
  /** Where the paper is read: its arXiv abstract page, or its page on the site. */
  url: string;
}

const SPECIAL: Record<string, string> = {
  '\\': '\\textbackslash{}',
  '{': '\\{',
  '}': '\\}',
  '&': '\\&',
  '%': '\\%',
  $: '\\$',
  '#': '\\#',
  _: '\\_',
  '~': '\\textasciitilde{}',
  '^': '\\textasciicircum{}',
};

/**
 * Text as LaTeX reads it literally: its special characters escaped in one pass (so the braces an
 * escape adds are not escaped again), control characters and line breaks as spaces. The result
 * never unbalances the braces around a field.
 */
export function escapeLatex(text: string): string {
  return text
    .replace(/[\p{Cc}\p{Zl}\p{Zp}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[\\{}&%$#_~^]/g, (c) => SPECIAL[c] ?? c);
}

/** Lower-case ASCII letters and digits only: "Müller-Lüdenscheidt" → "mullerludenscheidt". */
const fold = (s: string) =>
  s
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9]/g, '')
    .toLowerCase();

/** Words a key skips when they open a title. */
const SKIPPED = new Set(['a', 'an', 'the', 'on', 'of', 'in', 'for', 'to', 'and', 'with', 'towards', 'toward']);

/** The key's stem: first author's last name, year, first significant word of the title ("vaswani2017attention"). */
export function keyStem(p: Pick<CitedPaper, 'title' | 'authors' | 'year'>): string {
  const last = fold(p.authors[0]?.trim().split(/\s+/).at(-1) ?? '') || 'anon';
  const words = p.title
    .split(/[\s\-:/]+/)
    .map(fold)
    .filter(Boolean);
  const word = words.find((w) => !SKIPPED.has(w)) ?? words[0] ?? 'paper';
  return `${last}${p.year ?? ''}${word}`;
}

/**
 * Keys for `papers`, in order: each its stem, and a stem seen before gets a letter (smith2024deep,
 * smith2024deepa, smith2024deepb, …), so the same list always gets the same keys.
 */
export function citationKeys(papers: Pick<CitedPaper, 'title' | 'authors' | 'year'>[]): string[] {
  const used = new Set<string>();
  return papers.map((p) => {
    const stem = keyStem(p);
    let key = stem;
    for (let n = 0; used.has(key); n++) key = `${stem}${suffix(n)}`;
    used.add(key);
    return key;
  });
}

/** a, b, …, z, aa, ab, … */
function suffix(n: number): string {
  const letter = String.fromCharCode(97 + (n % 26));
  return n < 26 ? letter : suffix(Math.floor(n / 26) - 1) + letter;
}

/** An author list as BibTeX reads it; a name that itself holds " and " is kept whole in braces. */
const authorField = (authors: string[]) =>
  authors
    .map((a) => escapeLatex(a))
    .filter(Boolean)
    .map((a) => (/\band\b/i.test(a) ? `{${a}}` : a))
    .join(' and ');

/** arXiv identifiers (2403.01234, 2403.01234v2, hep-th/9901001) and categories (cs.CL), or nothing. */
const ARXIV_ID = /^(\d{4}\.\d{4,5}(v\d+)?|[a-z-]+(\.[A-Z]{2})?\/\d{7}(v\d+)?)$/;
const CATEGORY = /^[a-z-]+(\.[A-Za-z-]+)?$/;

/** A URL inside a field: braces, backslashes and blanks would end or break it, so they are percent-encoded. */
const urlField = (url: string) =>
  url.replace(/[{}\\\s]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);

/** One entry. */
function entry(p: CitedPaper, key: string): string {
  const arxiv = p.arxivId && ARXIV_ID.test(p.arxivId) ? p.arxivId : undefined;
  const primary = arxiv ? p.categories.find((c) => CATEGORY.test(c)) : undefined;
  const fields: [string, string][] = [
    // Double braces keep the title's capitals as written.
    ['title', `{${escapeLatex(p.title)}}`],
    ...(p.authors.length ? [['author', authorField(p.authors)] as [string, string]] : []),
    ...(p.year ? [['year', String(p.year)] as [string, string]] : []),
    ...(arxiv
      ? ([['eprint', arxiv], ['archivePrefix', 'arXiv'], ...(primary ? [['primaryClass', primary]] : [])] as [
          string,
          string,
        ][])
      : []),
    ['url', urlField(p.url)],
  ];
  return `@misc{${key},\n${fields.map(([name, value]) => `  ${name} = {${value}}`).join(',\n')}\n}\n`;
}

/** The BibTeX of `papers`, one entry each, in order. */
export function toBibtex(papers: CitedPaper[]): string {
  const keys = citationKeys(papers);
  return papers.map((p, i) => entry(p, keys[i] as string)).join('\n');
}

/** A paper as the database reads it for a citation (a digest's papers, the papers a reader liked). */
export interface CitationRow {
  id: number;
  title: string;
  authors: string[];
  arxiv_id: string | null;
  categories: string[];
  year: number | null;
}

/** The BibTeX of `rows`, in order, each linked to its arXiv page or its own page at `siteUrl`. */
export function bibtexOf(siteUrl: string, rows: readonly CitationRow[]): string {
  return toBibtex(
    rows.map((r) => ({
      title: r.title,
      authors: r.authors,
      arxivId: r.arxiv_id,
      categories: r.categories,
      year: r.year,
      url: paperUrl(siteUrl, r),
    })),
  );
}
