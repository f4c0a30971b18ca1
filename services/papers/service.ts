import type { Clock } from '../core/clock.ts';
import type { Db } from '../core/db.ts';
import type { Logger } from '../core/logger.ts';
import { type FetchOptions, readSource } from './fetch.ts';
import { type IngestReport, ingestPapers } from './ingest.ts';
import { refreshTrends as refresh } from './ranking.ts';
import { SOURCE_PARSERS, type SourceName } from './sources/index.ts';

export interface PaperServiceDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  /** The sources the scheduler runs, with where each is read from ({date} = today, UTC). */
  sources: { name: SourceName; location: string }[];
  fetch?: FetchOptions;
}

export function createPaperService({ db, clock, log, sources, fetch }: PaperServiceDeps) {
  const refreshTrends = (at: Date = clock.now()) => refresh(db, at);

  /** Reads one source from a path or URL, merges it into the papers table, refreshes trend scores. */
  async function ingest(location: string, source: SourceName): Promise<IngestReport> {
    const now = clock.now();
    const parsed = SOURCE_PARSERS[source](await readSource(location, fetch));
    const report = await ingestPapers(db, source, parsed, now);
    await refreshTrends(now);
    log.info({ location, ...report }, 'ingested');
    return report;
  }

  return {
    ingest,
    refreshTrends,

    /** The hourly job: every configured source; one failing source does not stop the others. */
    async runConfigured(): Promise<{ reports: IngestReport[]; failures: string[] }> {
      const reports: IngestReport[] = [];
      const failures: string[] = [];
      const day = clock.now().toISOString().slice(0, 10);
      for (const { name, location } of sources) {
        try {
          reports.push(await ingest(location.replaceAll('{date}', day), name));
        } catch (e) {
          failures.push(`${name}: ${(e as Error).message}`);
          log.warn({ source: name, err: (e as Error).message }, 'source not ingested');
        }
      }
      await refreshTrends();
      return { reports, failures };
    },
  };
}

export type PaperService = ReturnType<typeof createPaperService>;
