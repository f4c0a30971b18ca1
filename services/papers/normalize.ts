// C0 controls other than whitespace, DEL and C1: invisible, never part of a title or a name, and
// PostgreSQL's text refuses NUL outright.
const CONTROLS = /[\u0000-\u0008\u000E-\u001F\u007F-\u009F]/g;

/** Drops control characters, keeping tabs and line breaks. */
export function stripControls(s: string): string {
  return s.replace(CONTROLS, '');
}

/**
 * Drops control characters and collapses whitespace runs and LaTeX-ish spacing (titles and
 * abstracts arrive with newlines, double spaces, `\\` line breaks and `~` ties).
 */
export function cleanText(s: string): string {
  return stripControls(s)
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
