import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Db, Queryable } from '../core/db.ts';
import { paths } from '../core/paths.ts';
import { loadQueries } from '../core/sql.ts';
import { mergePaper, PAPER_COLUMNS, type PaperRow } from './merge.ts';
import type { Parsed } from './model.ts';
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

export interface IngestReport {
  source: string;
  entries: number;
  new: number;
  updated: number;
  unchanged: number;
  skipped: number;
  /** How many entries were skipped, by reason. */
  skippedReasons: Record<string, number>;
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

/**
 * Merges a parsed source into the papers table in one transaction: one row per paper (matched by
 * arXiv id, else normalised title), and one observation of its signals per run.
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
  };
  const skip = (reason: string) => {
    report.skipped++;
    report.skippedReasons[reason] = (report.skippedReasons[reason] ?? 0) + 1;
  };
  for (const s of parsed.skipped) skip(s.reason);
  onProgress?.({ step: 'merging', report });

  await db.tx(async (client) => {
    for (const input of parsed.papers) {
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
        if ((e as { code?: string }).code !== '23505') throw e;
        skip('title or arXiv id already belongs to another paper');
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
    run.location,
    run.startedAt,
    run.finishedAt,
    r ? 'ok' : 'failed',
    r?.entries ?? null,
    r?.new ?? null,
    r?.updated ?? null,
    r?.unchanged ?? null,
    r?.skipped ?? null,
    'error' in run.outcome ? run.outcome.error : null,
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
