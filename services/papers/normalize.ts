/**
 * Collapses whitespace runs and LaTeX-ish spacing (titles and abstracts arrive with newlines,
 * double spaces, `\\` line breaks and `~` ties).
 */
export function cleanText(s: string): string {
  return s
    .normalize('NFKC')
    .replace(/\\\\|\\newline\b/g, ' ')
    .replace(/(?<!\\)~/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * The key that makes one paper one row whatever its source: case, accents, punctuation and
 * spacing differences vanish ("LoQT: Low-Rank Adapters" and "loqt low rank adapters" agree).
 */
export function titleKey(title: string): string {
  return title
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}
