import { z } from 'zod';
import { type PaperInput, type Parsed, parseArxivId } from '../model.ts';
import { cleanText } from '../normalize.ts';
import { definePaperSource } from './source.ts';

// Lenient where real responses vary: unknown fields pass, optional ones may be missing or null.
const opt = <T extends z.ZodType>(t: T) => t.nullish().catch(undefined);
const date = z.string().transform((s, ctx) => {
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) {
    ctx.addIssue({ code: 'custom', message: 'not a date' });
    return z.NEVER;
  }
  return d;
});
// Any number passes here: one out of range is not absent but wrong, and checkPaper refuses it.
const count = z.number();

const Item = z.looseObject({
  paper: z.looseObject({
    id: z.string().min(1),
    title: opt(z.string()),
    summary: opt(z.string()),
    authors: opt(z.array(z.looseObject({ name: z.string().optional(), hidden: z.boolean().optional() }))),
    publishedAt: opt(date),
    submittedOnDailyAt: opt(date),
    upvotes: opt(count),
    ai_keywords: opt(z.array(z.string())),
    githubRepo: opt(z.string().url()),
    githubStars: opt(count),
    projectPage: opt(z.string().url()),
    withdrawnAt: opt(z.string()),
    ai_summary: opt(z.string()),
    organization: opt(z.looseObject({ name: z.string().optional(), fullname: z.string().optional() })),
  }),
  title: opt(z.string()),
  summary: opt(z.string()),
  publishedAt: opt(date),
  numComments: opt(count),
});

/**
 * The Hugging Face daily-papers API (`/api/daily_papers`): an array of items, each with the
 * arXiv paper inside `paper`. Upvotes live in `paper`, comments at the top level; the day it was
 * featured is `paper.submittedOnDailyAt`.
 */
export function parseHfDaily(text: string): Parsed {
  let items: unknown;
  try {
    items = JSON.parse(text);
  } catch {
    throw new Error('not JSON: expected the daily-papers array');
  }
  if (!Array.isArray(items)) throw new Error('expected a JSON array of daily papers');
  const papers: PaperInput[] = [];
  const skipped: Parsed['skipped'] = [];
  for (const [i, raw] of items.entries()) {
    const parsed = Item.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      skipped.push({ reason: `invalid ${issue?.path.join('.') || 'item'}`, entry: `#${i}` });
      continue;
    }
    const { paper, ...item } = parsed.data;
    const arxiv = parseArxivId(paper.id);
    const title = cleanText(paper.title ?? item.title ?? '');
    if (!arxiv) {
      skipped.push({ reason: 'not an arXiv id', entry: paper.id });
      continue;
    }
    if (!title) {
      skipped.push({ reason: 'no title', entry: paper.id });
      continue;
    }
    if (paper.withdrawnAt) {
      skipped.push({ reason: 'withdrawn', entry: paper.id });
      continue;
    }
    papers.push({
      title,
      abstract: cleanText(paper.summary ?? item.summary ?? ''),
      arxivId: arxiv.id,
      arxivVersion: arxiv.version,
      authors: (paper.authors ?? []).filter((a) => !a.hidden && a.name).map((a) => cleanText(a.name as string)),
      keywords: (paper.ai_keywords ?? []).map(cleanText).filter(Boolean),
      publishedAt: paper.publishedAt ?? item.publishedAt ?? undefined,
      featuredAt: paper.submittedOnDailyAt ?? undefined,
      organization: cleanText(paper.organization?.fullname || paper.organization?.name || '') || undefined,
      aiSummary: cleanText(paper.ai_summary ?? '') || undefined,
      githubRepo: paper.githubRepo ?? undefined,
      projectPage: paper.projectPage ?? undefined,
      upvotes: paper.upvotes ?? undefined,
      comments: item.numComments ?? undefined,
      githubStars: paper.githubStars ?? undefined,
    });
  }
  return { papers, entries: items.length, skipped };
}

export const hfDaily = definePaperSource({
  name: 'hf',
  parse: parseHfDaily,
  scheduled: {
    setting: 'HF_DAILY_URL',
    defaultLocation: 'https://huggingface.co/api/daily_papers?date={date}&limit=100',
    byDefault: true,
  },
});
