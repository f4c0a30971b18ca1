import { type PaperInput, parseArxivId, type Skipped } from './model.ts';
import { stripControls } from './normalize.ts';

/**
 * What Paperboy accepts from a paper source, in one place (the README lists them). Real papers sit
 * far inside these: arXiv caps abstracts at 1,920 characters and titles rarely pass 300.
 */
export const PAPER_LIMITS = {
  titleChars: 1_000,
  /** A title's key is indexed, and a PostgreSQL btree entry holds at most 2,704 bytes. */
  titleBytes: 2_000,
  abstractChars: 20_000,
  authorChars: 300,
  /** An organization's name, like an author's. */
  organizationChars: 300,
  /** A one-line summary: a sentence or two. */
  summaryChars: 1_000,
  /** Names kept: a large collaboration lists over a thousand, so the rest are cut, not refused. */
  authors: 500,
  /** One keyword or category. */
  labelChars: 100,
  keywords: 100,
  categories: 50,
  urlChars: 2_000,
  /** Counts (upvotes, comments, stars, page positions) are PostgreSQL integers. */
  maxCount: 2_147_483_647,
  maxArxivVersion: 1_000,
  earliestDate: new Date('1900-01-01T00:00:00Z'),
  /** How far past the ingest's own clock a date may lie (the source's clock may run ahead). */
  futureDays: 7,
} as const;

/** The most of one response (or file) a source read takes in: 20 MB, about 40 times a real one. */
export const SOURCE_MAX_BYTES = 20 * 1024 * 1024;

/** How much of a run's skipped entries its report (and so its log line and `ingest_runs` row) keeps. */
export const SKIP_REPORT_LIMITS = {
  /** Distinct reasons counted; the rest are counted under OTHER_REASONS. */
  reasons: 20,
  /** Skipped entries named, the first ones. */
  entries: 20,
  /** Characters of an entry's name or a reason. */
  chars: 200,
} as const;

export const OTHER_REASONS = 'other reasons';

export type Checked = { paper: PaperInput } | { reason: string };

const shorten = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);
const isCount = (n: number, min = 0) => Number.isInteger(n) && n >= min && n <= PAPER_LIMITS.maxCount;
const HTTP_URL = /^https?:\/\/[^\s\p{Cc}]+$/iu;

/**
 * What of a reported paper may be stored, or why the entry is skipped. Control characters (NUL
 * among them, which PostgreSQL's text refuses) carry nothing a reader sees, so they are stripped;
 * long lists are cut to their first entries; a link that is not http(s) is dropped. What cannot be
 * real is refused: text over its limit, a count or a version out of range, a date before 1900 or
 * more than a week ahead.
 */
export function checkPaper(input: PaperInput, now: Date): Checked {
  const L = PAPER_LIMITS;
  if (input.arxivId !== undefined && parseArxivId(input.arxivId)?.id !== input.arxivId) {
    return { reason: 'not an arXiv id' };
  }
  const title = stripControls(input.title).trim();
  if (!title) return { reason: 'no title' };
  if (title.length > L.titleChars) return { reason: `title over ${L.titleChars} characters` };
  if (Buffer.byteLength(title) > L.titleBytes) return { reason: `title over ${L.titleBytes} bytes` };
  const abstract = stripControls(input.abstract);
  if (abstract.length > L.abstractChars) return { reason: `abstract over ${L.abstractChars} characters` };

  const list = (items: string[] | undefined, keep: number) =>
    items
      ?.map((s) => stripControls(s).trim())
      .filter(Boolean)
      .slice(0, keep);
  const authors = list(input.authors, L.authors);
  if (authors?.some((a) => a.length > L.authorChars)) return { reason: `author name over ${L.authorChars} characters` };
  const keywords = list(input.keywords, L.keywords);
  if (keywords?.some((k) => k.length > L.labelChars)) return { reason: `keyword over ${L.labelChars} characters` };
  const categories = list(input.categories, L.categories);
  if (categories?.some((c) => c.length > L.labelChars)) return { reason: `category over ${L.labelChars} characters` };

  const organization = stripControls(input.organization ?? '').trim() || undefined;
  if (organization && organization.length > L.organizationChars) {
    return { reason: `organization over ${L.organizationChars} characters` };
  }
  const aiSummary = stripControls(input.aiSummary ?? '').trim() || undefined;
  if (aiSummary && aiSummary.length > L.summaryChars) return { reason: `summary over ${L.summaryChars} characters` };

  const counts = [
    ['upvotes', input.upvotes, 0],
    ['comments', input.comments, 0],
    ['GitHub stars', input.githubStars, 0],
    ['seed position', input.seedPosition, 1],
  ] as const;
  for (const [name, n, min] of counts) {
    if (n !== undefined && !isCount(n, min)) return { reason: `${name} out of range` };
  }
  const version = input.arxivVersion;
  if (version !== undefined && !(Number.isInteger(version) && version >= 1 && version <= L.maxArxivVersion)) {
    return { reason: 'arXiv version out of range' };
  }
  const latest = now.getTime() + L.futureDays * 86_400_000;
  const dates = [
    ['publication date', input.publishedAt],
    ['featured date', input.featuredAt],
  ] as const;
  for (const [name, d] of dates) {
    const t = d?.getTime();
    if (t !== undefined && !(t >= L.earliestDate.getTime() && t <= latest)) return { reason: `${name} out of range` };
  }

  const link = (url: string | undefined) =>
    url !== undefined && url.length <= L.urlChars && HTTP_URL.test(url) ? url : undefined;
  return {
    paper: {
      ...input,
      title,
      abstract,
      authors,
      keywords,
      categories,
      organization,
      aiSummary,
      githubRepo: link(input.githubRepo),
      projectPage: link(input.projectPage),
    },
  };
}

/** The skipped entries of a run as its report keeps them: every one counted, few named. */
export interface SkipTally {
  skipped: number;
  /** How many entries were skipped, by reason (at most SKIP_REPORT_LIMITS.reasons of them). */
  skippedReasons: Record<string, number>;
  /** The first skipped entries, with why. */
  skippedEntries: Skipped[];
}

/** Counts one skipped entry into a tally whose size stays bounded however many are skipped. */
export function tallySkip(tally: SkipTally, { reason, entry }: Skipped): void {
  const { reasons, entries, chars } = SKIP_REPORT_LIMITS;
  // Names and reasons come from the source: keep them printable and short, for logs and jsonb alike.
  const why = shorten(stripControls(reason), chars);
  const key =
    Object.hasOwn(tally.skippedReasons, why) || Object.keys(tally.skippedReasons).length < reasons - 1
      ? why
      : OTHER_REASONS;
  tally.skipped++;
  tally.skippedReasons[key] = (tally.skippedReasons[key] ?? 0) + 1;
  if (tally.skippedEntries.length < entries) {
    tally.skippedEntries.push({ reason: why, entry: shorten(stripControls(entry), chars) });
  }
}
