import type { PaperFacts } from './repository.ts';

export type { PaperFacts };

/** Authors named before "et al.", as the seed page shows them. */
const AUTHORS_SHOWN = 3;

/** A link a reader may follow from a paper. */
export interface PaperLink {
  label: string;
  href: string;
}

/** A paper as readers see it, on the home page, its own page and in a digest: every field once. */
export interface PaperView {
  id: number;
  title: string;
  /** Where its title leads: the arXiv abstract page, or its page on this site when it has no arXiv id. */
  url: string;
  /** The first three authors, then "et al."; empty when none are known. */
  authors: string;
  organization: string;
  /** The one-line summary a source wrote, when there is one. */
  summary: string;
  abstract: string;
  /** Upvotes, comments and stars in words ("42 upvotes · 3 comments · 1,204 GitHub stars"); empty when none. */
  signals: string;
  /** Why it trends, as the ranking said. */
  reason: string;
  links: PaperLink[];
}

const number = new Intl.NumberFormat('en-US');
const counted = (n: number | null, one: string, many: string) =>
  n === null || n === 0 ? undefined : `${number.format(n)} ${n === 1 ? one : many}`;
/** Only web links leave Paperboy: a source's link is checked on ingest, and once more here. */
const web = (href: string | null) => (href && /^https?:\/\//i.test(href) ? href : undefined);

/** "A, B, C et al." */
export function authorLine(authors: string[]): string {
  const shown = authors.slice(0, AUTHORS_SHOWN).join(', ');
  return authors.length > AUTHORS_SHOWN ? `${shown} et al.` : shown;
}

/** The paper's own page on this site (`publicUrl` without a trailing slash). */
export const paperPageUrl = (publicUrl: string, id: number) => `${publicUrl}/papers/${id}`;

/** Where a paper's title leads: its arXiv abstract page, else its page on this site; never a search. */
export const paperUrl = (publicUrl: string, p: { id: number; arxiv_id: string | null }) =>
  p.arxiv_id ? `https://arxiv.org/abs/${p.arxiv_id}` : paperPageUrl(publicUrl, p.id);

export function paperLinks(publicUrl: string, p: PaperFacts): PaperLink[] {
  const links: (PaperLink | undefined)[] = p.arxiv_id
    ? [
        { label: 'arXiv', href: `https://arxiv.org/abs/${p.arxiv_id}` },
        { label: 'PDF', href: `https://arxiv.org/pdf/${p.arxiv_id}` },
      ]
    : [{ label: 'Paper page', href: paperPageUrl(publicUrl, p.id) }];
  const repo = web(p.github_repo);
  if (repo) links.push({ label: `Code${p.github_stars ? ` (${number.format(p.github_stars)} ★)` : ''}`, href: repo });
  const project = web(p.project_page);
  if (project) links.push({ label: 'Project page', href: project });
  if (p.arxiv_id) links.push({ label: 'Hugging Face', href: `https://huggingface.co/papers/${p.arxiv_id}` });
  return links.filter((l): l is PaperLink => l !== undefined);
}

export function signalLine(p: Pick<PaperFacts, 'upvotes' | 'comments' | 'github_stars'>): string {
  return [
    counted(p.upvotes, 'upvote', 'upvotes'),
    counted(p.comments, 'comment', 'comments'),
    counted(p.github_stars, 'GitHub star', 'GitHub stars'),
  ]
    .filter(Boolean)
    .join(' · ');
}

/** A paper as readers see it; `reason` is why it is shown (a digest's own reason, else why it trends). */
export function presentPaper(publicUrl: string, p: PaperFacts & { trend_reason?: string }, reason?: string): PaperView {
  return {
    id: p.id,
    title: p.title,
    url: paperUrl(publicUrl, p),
    authors: authorLine(p.authors),
    organization: p.organization ?? '',
    summary: p.ai_summary ?? '',
    abstract: p.abstract,
    signals: signalLine(p),
    reason: reason ?? p.trend_reason ?? '',
    links: paperLinks(publicUrl, p),
  };
}
