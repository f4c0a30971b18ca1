import type { PaperInput } from './model.ts';
import { titleKey } from './normalize.ts';

/** A papers row as ingest reads and writes it. */
export interface PaperRow {
  id?: number;
  title_key: string;
  title: string;
  abstract: string;
  arxiv_id: string | null;
  arxiv_version: number | null;
  authors: string[];
  categories: string[];
  keywords: string[];
  published_at: Date | null;
  featured_at: Date | null;
  organization: string | null;
  ai_summary: string | null;
  github_repo: string | null;
  project_page: string | null;
  upvotes: number | null;
  comments: number | null;
  github_stars: number | null;
  seed_position: number | null;
  sources: string[];
  fresh_at: Date;
}

export const PAPER_COLUMNS = [
  'title_key',
  'title',
  'abstract',
  'arxiv_id',
  'arxiv_version',
  'authors',
  'categories',
  'keywords',
  'published_at',
  'featured_at',
  'organization',
  'ai_summary',
  'github_repo',
  'project_page',
  'upvotes',
  'comments',
  'github_stars',
  'seed_position',
  'sources',
  'fresh_at',
] as const satisfies readonly (keyof PaperRow)[];

const later = (a: Date | null, b: Date | null | undefined) => (b && (!a || b > a) ? b : a);
const sameValue = (a: unknown, b: unknown) =>
  a instanceof Date || b instanceof Date
    ? (a as Date | null)?.getTime() === (b as Date | null)?.getTime()
    : JSON.stringify(a) === JSON.stringify(b);

/**
 * One paper, one row. Merges what a source reports into the row it matched (by arXiv id, else by
 * normalised title when one of the two has no arXiv id: find-paper in papers.sql): the text of an
 * older arXiv version never replaces a newer one; lists and signals a source does not report keep
 * their value; a paper becomes news again (fresh_at) when it is featured later than it was first
 * seen.
 */
export function mergePaper(
  existing: PaperRow | undefined,
  input: PaperInput,
  source: string,
  now: Date,
): { row: PaperRow; changed: boolean } {
  if (!existing) {
    return {
      changed: true,
      row: {
        title_key: titleKey(input.title),
        title: input.title,
        abstract: input.abstract,
        arxiv_id: input.arxivId ?? null,
        arxiv_version: input.arxivVersion ?? null,
        authors: input.authors ?? [],
        categories: input.categories ?? [],
        keywords: input.keywords ?? [],
        published_at: input.publishedAt ?? null,
        featured_at: input.featuredAt ?? null,
        organization: input.organization ?? null,
        ai_summary: input.aiSummary ?? null,
        github_repo: input.githubRepo ?? null,
        project_page: input.projectPage ?? null,
        upvotes: input.upvotes ?? null,
        comments: input.comments ?? null,
        github_stars: input.githubStars ?? null,
        seed_position: input.seedPosition ?? null,
        sources: [source],
        fresh_at: input.featuredAt ?? input.publishedAt ?? now,
      },
    };
  }
  // Text from a known arXiv version wins over text of an older or unknown one.
  const olderVersion =
    existing.arxiv_version !== null &&
    (input.arxivVersion === undefined || input.arxivVersion < existing.arxiv_version);
  const title = olderVersion ? existing.title : input.title;
  const row: PaperRow = {
    ...existing,
    title_key: titleKey(title),
    title,
    abstract: olderVersion || !input.abstract ? existing.abstract : input.abstract,
    arxiv_id: existing.arxiv_id ?? input.arxivId ?? null,
    arxiv_version: Math.max(existing.arxiv_version ?? 0, input.arxivVersion ?? 0) || null,
    authors: input.authors?.length ? input.authors : existing.authors,
    categories: input.categories?.length ? input.categories : existing.categories,
    keywords: input.keywords?.length ? input.keywords : existing.keywords,
    published_at: existing.published_at ?? input.publishedAt ?? null,
    featured_at: later(existing.featured_at, input.featuredAt),
    organization: input.organization ?? existing.organization,
    ai_summary: input.aiSummary ?? existing.ai_summary,
    github_repo: input.githubRepo ?? existing.github_repo,
    project_page: input.projectPage ?? existing.project_page,
    upvotes: input.upvotes ?? existing.upvotes,
    comments: input.comments ?? existing.comments,
    github_stars: input.githubStars ?? existing.github_stars,
    seed_position: input.seedPosition ?? existing.seed_position,
    sources: existing.sources.includes(source) ? existing.sources : [...existing.sources, source],
    fresh_at: later(existing.fresh_at, input.featuredAt) as Date,
  };
  const changed = PAPER_COLUMNS.some((c) => !sameValue(row[c], existing[c]));
  return { row, changed };
}
