import type { Queryable } from '../core/db.ts';
import { loadQueries } from '../core/sql.ts';

const sql = loadQueries(new URL('./ranking.sql', import.meta.url), [
  'refresh-trend-scores',
  'retire-old-scores',
  'remember-ranked-lists',
  'forget-ranked-lists',
  'preview-picks',
]);

/** Recomputes trend scores and their reasons as of `at`; returns how many changed. */
export async function refreshTrends(db: Queryable, at: Date): Promise<number> {
  const refreshed = await db.query(sql['refresh-trend-scores'], [at]);
  await db.query(sql['retire-old-scores'], [at]);
  return refreshed.rowCount ?? 0;
}

/**
 * Ranks, for planning run `runId`, the topic sets among `subscriberIds` it has no list for yet;
 * returns how many lists it added. Within a run each topic set is ranked once and its list kept
 * for the run's later batches (`paperboy_pick_for` reads them); `forgetRankedLists` drops them
 * when the run ends.
 */
export async function rememberRankedLists(
  db: Queryable,
  runId: string,
  subscriberIds: number[],
  since: Date,
): Promise<number> {
  return (await db.query(sql['remember-ranked-lists'], [runId, subscriberIds, since])).rowCount ?? 0;
}

/** Drops a planning run's ranked lists, and any left by runs that never ended. */
export async function forgetRankedLists(db: Queryable, runId: string): Promise<void> {
  await db.query(sql['forget-ranked-lists'], [runId]);
}

export interface PreviewPick {
  position: number;
  reason: string;
  id: number;
  title: string;
  abstract: string;
  arxiv_id: string | null;
  trend_score: string;
}

/** What a subscriber would get next, without recording anything. */
export async function previewPicks(db: Queryable, subscriberId: number, since: Date): Promise<PreviewPick[]> {
  return (await db.query<PreviewPick>(sql['preview-picks'], [subscriberId, since])).rows;
}

/** The start of the window a digest planned at `at` looks back over. */
export const rankSince = (at: Date, windowDays: number) => new Date(at.getTime() - windowDays * 86_400_000);
