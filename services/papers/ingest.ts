import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type Db, withSavepoint } from '../core/db.ts';
import { paths } from '../core/paths.ts';
import { checkPaper, type SkipTally, tallySkip } from './limits.ts';
import { mergePaper } from './merge.ts';
import type { PaperInput, Parsed } from './model.ts';
import { createPaperRepository } from './repository.ts';
import { parseSeedPage } from './sources/seed-page.ts';

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
    const papers = createPaperRepository(client);
    for (const reported of parsed.papers) {
      const checked = checkPaper(reported, now);
      if ('reason' in checked) {
        tallySkip(report, { reason: checked.reason, entry: entryName(reported) });
        onProgress?.({ step: 'merging', report });
        continue;
      }
      const input = checked.paper;
      try {
        await withSavepoint(client, async () => {
          const found = await papers.findPaper(
            input.arxivId ?? null,
            mergePaper(undefined, input, source, now).row.title_key,
          );
          const { row, changed } = mergePaper(found, input, source, now);
          let id: number;
          if (!found) {
            id = await papers.insertPaper(row);
            report.new++;
          } else {
            id = found.id;
            if (changed) {
              await papers.updatePaper(found.id, row);
              report.updated++;
            } else {
              report.unchanged++;
            }
          }
          if (input.upvotes !== undefined || input.comments !== undefined || input.githubStars !== undefined) {
            await papers.recordObservation({
              paperId: id,
              at: now,
              source,
              upvotes: input.upvotes,
              comments: input.comments,
              githubStars: input.githubStars,
            });
          }
        });
      } catch (e) {
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
