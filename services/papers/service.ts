import type { Clock } from '../core/clock.ts';
import type { Db } from '../core/db.ts';
import type { Logger } from '../core/logger.ts';
import { type FetchOptions, readSource } from './fetch.ts';
import { type IngestReport, ingestPapers, loadSeeds, type OnIngestProgress } from './ingest.ts';
import { createPaperRepository, type IngestRun } from './repository.ts';
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
  const repo = createPaperRepository(db);
  const refreshTrends = (at: Date = clock.now()) => repo.refreshTrends(at);

  /**
   * Reads one source from a path or URL and merges it into the papers table; the run, whether it
   * worked or failed, is kept in `ingest_runs`.
   */
  async function merge(
    location: string,
    source: SourceName,
    now: Date,
    onProgress?: OnIngestProgress,
  ): Promise<IngestReport> {
    const startedAt = clock.now();
    const record = (outcome: IngestRun['outcome']) =>
      // The history is for the operator: losing a row of it must not fail the ingest itself.
      repo
        .recordIngestRun({ source, location, startedAt, finishedAt: clock.now(), outcome })
        .catch((e) => log.warn({ source, err: (e as Error).message }, 'ingest run not recorded'));
    try {
      onProgress?.({ step: 'reading' });
      const parsed = SOURCE_PARSERS[source](await readSource(location, fetch));
      const report = await ingestPapers(db, source, parsed, now, onProgress);
      log.info({ location, ...report }, 'ingested');
      await record({ report });
      return report;
    } catch (e) {
      await record({ error: e instanceof Error ? e.message : String(e) });
      throw e;
    }
  }

  return {
    refreshTrends,

    /** The seed papers in `seeds/`, merged; running it again changes nothing. */
    loadSeeds: (onProgress?: OnIngestProgress) => loadSeeds(db, clock.now(), { onProgress }),

    /** One source by hand: merged, then trend scores refreshed; `onProgress` hears each step. */
    async ingest(location: string, source: SourceName, onProgress?: OnIngestProgress): Promise<IngestReport> {
      const now = clock.now();
      const report = await merge(location, source, now, onProgress);
      onProgress?.({ step: 'ranking', report });
      await refreshTrends(now);
      return report;
    },

    /**
     * The hourly job: every configured source, then one refresh of the trend scores (which also
     * lets them decay when no source answered); one failing source does not stop the others.
     */
    async runConfigured(): Promise<{ reports: IngestReport[]; failures: string[] }> {
      const reports: IngestReport[] = [];
      const failures: string[] = [];
      const now = clock.now();
      const day = now.toISOString().slice(0, 10);
      for (const { name, location } of sources) {
        try {
          reports.push(await merge(location.replaceAll('{date}', day), name, now));
        } catch (e) {
          failures.push(`${name}: ${(e as Error).message}`);
          log.warn({ source: name, err: (e as Error).message }, 'source not ingested');
        }
      }
      await refreshTrends(now);
      return { reports, failures };
    },
  };
}

export type PaperService = ReturnType<typeof createPaperService>;
