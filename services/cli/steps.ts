import type { PrepareProgress } from '../main.ts';
import type { PaperService } from '../papers/service.ts';
import type { ProgressUpdate } from './progress.ts';

type IngestReport = Awaited<ReturnType<PaperService['ingest']>>;

/** What a progress line says during each step of opening the database and reading a source. */
export const STEPS: Record<PrepareProgress['step'], string> = {
  migrating: 'migrating the database',
  merging: 'loading the seed papers',
  reading: 'reading the source',
  ranking: 'refreshing trend scores',
};

/** An ingest's counts so far, as a progress line shows them. */
export function ingestCounts(r: Readonly<IngestReport>): ProgressUpdate {
  return {
    phase: undefined,
    done: r.new + r.updated + r.unchanged + r.skipped,
    total: r.entries,
    unit: 'entries',
    counts: [
      ['new', r.new],
      ['updated', r.updated],
      ['unchanged', r.unchanged],
      ['skipped', r.skipped],
    ],
  };
}

/** A progress line for one step of preparing the database or ingesting: the counts while merging, else the step. */
export const stepUpdate = (p: PrepareProgress): ProgressUpdate =>
  p.step === 'merging' && 'report' in p && p.report ? ingestCounts(p.report) : { phase: STEPS[p.step] };
