import { XMLParser } from 'fast-xml-parser';
import { type PaperInput, type Parsed, parseArxivId } from '../model.ts';
import { cleanText } from '../normalize.ts';
import { definePaperSource } from './source.ts';

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  isArray: (name) => ['entry', 'author', 'category', 'link'].includes(name),
  // Titles like "1.5" must stay strings.
  parseTagValue: false,
  processEntities: true,
  htmlEntities: true,
});

const text = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'object' && v && '#text' in v ? String(v['#text']) : '';
const date = (v: unknown): Date | undefined => {
  const d = new Date(text(v));
  return Number.isNaN(d.getTime()) ? undefined : d;
};

/**
 * An arXiv API query result (Atom): `entry/id` holds the versioned abs URL, titles and abstracts
 * carry newlines and runs of spaces, categories are `term` attributes.
 */
export function parseArxivAtom(body: string): Parsed {
  let doc: Record<string, unknown>;
  try {
    doc = xml.parse(body, true);
  } catch (e) {
    throw new Error(`not an Atom feed: ${(e as Error).message}`);
  }
  const feed = doc.feed as { entry?: Record<string, unknown>[] } | undefined;
  if (!feed) throw new Error('not an Atom feed: no <feed> element');
  const entries = feed.entry ?? [];
  const papers: PaperInput[] = [];
  const skipped: Parsed['skipped'] = [];
  for (const [i, entry] of entries.entries()) {
    const rawId = text(entry.id);
    const arxiv = parseArxivId(rawId);
    const title = cleanText(text(entry.title));
    if (!arxiv) {
      skipped.push({ reason: 'not an arXiv id', entry: rawId || `#${i}` });
      continue;
    }
    if (!title || title === 'Error') {
      skipped.push({ reason: 'no title', entry: rawId });
      continue;
    }
    const primary = (entry.primary_category as Record<string, string> | undefined)?.['@term'];
    const categories = ((entry.category as Record<string, string>[] | undefined) ?? [])
      .map((c) => c['@term'])
      .filter(Boolean) as string[];
    papers.push({
      title,
      abstract: cleanText(text(entry.summary)),
      arxivId: arxiv.id,
      arxivVersion: arxiv.version,
      authors: ((entry.author as Record<string, unknown>[] | undefined) ?? [])
        .map((a) => cleanText(text(a.name)))
        .filter(Boolean),
      categories: [...new Set([primary, ...categories].filter((c): c is string => !!c))],
      publishedAt: date(entry.published),
    });
  }
  return { papers, entries: entries.length, skipped };
}

export const arxivAtom = definePaperSource({
  name: 'arxiv',
  parse: parseArxivAtom,
  scheduled: {
    setting: 'ARXIV_QUERY_URL',
    // The newest submissions in machine learning, language, vision and AI.
    defaultLocation:
      'https://export.arxiv.org/api/query?search_query=cat:cs.LG+OR+cat:cs.CL+OR+cat:cs.CV+OR+cat:cs.AI&sortBy=submittedDate&sortOrder=descending&start=0&max_results=200',
    byDefault: true,
  },
});
