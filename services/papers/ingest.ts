import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Db, Queryable } from '../core/db.ts';
import { paths } from '../core/paths.ts';
import { loadQueries } from '../core/sql.ts';
import { checkPaper, type SkipTally, tallySkip } from './limits.ts';
import { mergePaper, PAPER_COLUMNS, type PaperRow } from './merge.ts';
import type { PaperInput, Parsed } from './model.ts';
import { stripControls } from './normalize.ts';
import { parseSeedPage } from './sources/seed-page.ts';

const sql = loadQueries(new URL('./papers.sql', import.meta.url), [
  'find-paper',
  'insert-paper',
  'update-paper',
  'record-observation',
  'count-papers',
  'trending-papers',
  'archive-days',
  'archive-day',
  'record-ingest-run',
]);

export interface IngestReport extends SkipTally {
  source: string;
  entries: number;
  new: number;
  updated: number;
  unchanged: number;
}

/**
 * Where a read of a source is, for a command showing progress: reading it, merging its entries
 * (with the counts so far, a live view that changes as the merge goes on: copy what you keep), or
 * refreshing trend scores.
 */
export interface IngestProgress {
  step: 'reading' | 'merging' | 'ranking';
  report?: Readonly<IngestReport>;
}

export type OnIngestProgress = (p: IngestProgress) => void;

/** How a skipped paper is named in a report: its arXiv id, else its title. */
const entryName = (p: PaperInput) => p.arxivId ?? p.title;

/**
 * Merges a parsed source into the papers table in one transaction: one row per paper (matched by
 * arXiv id, else normalised title unless both know differing arXiv ids), and one observation of
 * its signals per run. An entry that breaks the limits (limits.ts), or that PostgreSQL refuses all
 * the same, is skipped with its reason; the other entries go in.
 */
export async function ingestPapers(
  db: Db,
  source: string,
  parsed: Parsed,
  now: Date,
  onProgress?: OnIngestProgress,
): Promise<IngestReport> {
  const report: IngestReport = {
    source,
    entries: parsed.entries,
    new: 0,
    updated: 0,
    unchanged: 0,
    skipped: 0,
    skippedReasons: {},
    skippedEntries: [],
  };
  for (const s of parsed.skipped) tallySkip(report, s);
  onProgress?.({ step: 'merging', report });

  await db.tx(async (client) => {
    for (const reported of parsed.papers) {
      const checked = checkPaper(reported, now);
      if ('reason' in checked) {
        tallySkip(report, { reason: checked.reason, entry: entryName(reported) });
        onProgress?.({ step: 'merging', report });
        continue;
      }
      const input = checked.paper;
      await client.query('SAVEPOINT paper');
      try {
        const found = (
          await client.query<PaperRow & { id: number }>(sql['find-paper'], [
            input.arxivId ?? null,
            mergePaper(undefined, input, source, now).row.title_key,
          ])
        ).rows[0];
        const { row, changed } = mergePaper(found, input, source, now);
        let id = found?.id;
        if (!found) {
          id = (
            await client.query<{ id: number }>(
              sql['insert-paper'],
              PAPER_COLUMNS.map((c) => row[c]),
            )
          ).rows[0]?.id;
          report.new++;
        } else if (changed) {
          await client.query(sql['update-paper'], [found.id, ...PAPER_COLUMNS.map((c) => row[c])]);
          report.updated++;
        } else {
          report.unchanged++;
        }
        if (input.upvotes !== undefined || input.comments !== undefined || input.githubStars !== undefined) {
          await client.query(sql['record-observation'], [
            id,
            now,
            source,
            input.upvotes ?? null,
            input.comments ?? null,
            input.githubStars ?? null,
          ]);
        }
        await client.query('RELEASE SAVEPOINT paper');
      } catch (e) {
        await client.query('ROLLBACK TO SAVEPOINT paper');
        const code = (e as { code?: string }).code ?? '';
        if (code === '23505') {
          tallySkip(report, { reason: 'title or arXiv id already belongs to another paper', entry: entryName(input) });
        } else if (/^(22|54)/.test(code)) {
          // A data exception or a size limit the checks missed is still this entry's problem alone.
          tallySkip(report, { reason: `refused by PostgreSQL (${code})`, entry: entryName(input) });
        } else {
          throw e;
        }
      }
      onProgress?.({ step: 'merging', report });
    }
  });
  return report;
}

export interface IngestRun {
  source: string;
  location: string;
  startedAt: Date;
  finishedAt: Date;
  /** The report of a run that worked; the error of one that did not. */
  outcome: { report: IngestReport } | { error: string };
}

/** Keeps one read of a source in `ingest_runs`. */
export async function recordIngestRun(db: Queryable, run: IngestRun): Promise<void> {
  const r = 'report' in run.outcome ? run.outcome.report : undefined;
  await db.query(sql['record-ingest-run'], [
    run.source,
    stripControls(run.location),
    run.startedAt,
    run.finishedAt,
    r ? 'ok' : 'failed',
    r?.entries ?? null,
    r?.new ?? null,
    r?.updated ?? null,
    r?.unchanged ?? null,
    r?.skipped ?? null,
    // A failure's message can quote the source; NUL would make PostgreSQL refuse the whole row.
    'error' in run.outcome ? stripControls(run.outcome.error).slice(0, 2_000) : null,
    r ? JSON.stringify(r.skippedReasons) : null,
    r ? JSON.stringify(r.skippedEntries) : null,
  ]);
}

/** Loads every seed page under `seeds/`; running it again changes nothing. */
export async function loadSeeds(
  db: Db,
  now: Date,
  { dir = paths.seeds, onProgress }: { dir?: string; onProgress?: OnIngestProgress } = {},
): Promise<IngestReport[]> {
  const reports: IngestReport[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort()) {
    const parsed = parseSeedPage(readFileSync(path.join(dir, file), 'utf8'));
    reports.push({ ...(await ingestPapers(db, 'seed', parsed, now, onProgress)), source: `seed:${file}` });
  }
  return reports;
}

export async function countPapers(db: Queryable): Promise<number> {
  return (await db.query<{ n: number }>(sql['count-papers'])).rows[0]?.n ?? 0;
}

export interface TrendingPaper {
  id: number;
  title: string;
  abstract: string;
  arxiv_id: string | null;
  authors: string[];
  categories: string[];
  trend_reason: string;
  fresh_at: Date;
  updated_at: Date;
}

/** The trending list, optionally narrowed to papers matching any of `topics`. */
export async function trendingPapers(
  db: Queryable,
  since: Date,
  topics: string[],
  limit: number,
): Promise<TrendingPaper[]> {
  return (await db.query<TrendingPaper>(sql['trending-papers'], [since, topics, limit])).rows;
}

/** Days on which papers became news since `since`, newest first. */
export async function archiveDays(db: Queryable, since: Date): Promise<{ day: string; papers: number }[]> {
  return (await db.query<{ day: string; papers: number }>(sql['archive-days'], [since])).rows;
}

/** The papers that became news on `day` (UTC), most trending first. */
export async function archiveDay(db: Queryable, day: string, limit = 25) {
  return (
    await db.query<{ id: number; title: string; abstract: string; arxiv_id: string | null; trend_reason: string }>(
      sql['archive-day'],
      [day, limit],
    )
  ).rows;
}
