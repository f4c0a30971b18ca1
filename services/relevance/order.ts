/**
 * Today's order, as the planner's SQL computes it (paperboy_lists_for and paperboy_pick_for,
 * migrations/010_ranked_lists_per_run.sql), in TypeScript: what a reader who has voted nothing
 * gets. test/relevance-order.test.ts holds it equal to the SQL on PostgreSQL.
 */

/** A paper in the planning window, with which of a topic set's topics it matches. */
export interface ListedPaper {
  id: number;
  trendScore: number;
  /** The topics of the set whose full-text query the paper matches. */
  matches: readonly string[];
}

/** One topic set's list: ids best first, and for each the topics it matches (null: trending only). */
export interface RankedList {
  ids: number[];
  matched: (string | null)[];
}

/** Most trending first, then the lower id: `ORDER BY trend_score DESC, id`. */
export const byTrend = (a: { trendScore: number; id: number }, b: { trendScore: number; id: number }) =>
  b.trendScore - a.trendScore || a.id - b.id;

/** Code-point order: what `string_agg(topic ORDER BY topic)` gives under the C collation. */
export const codePointOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The ranked list of one topic set over the papers of the window (paperboy_lists_for): the papers
 * matching any of its topics, most trending first, the first `perList` of them, each with the
 * topics it matches; then, of the `perList` most trending papers of the window, those matching
 * none.
 *
 * The SQL also caps each topic's matches at `perList` before the union; that cap changes nothing
 * here: a match beyond it has `perList` matches of the same topic above it, so the union's cut
 * drops it too, and those same papers keep it out of the trending part.
 */
export function rankedList(
  papers: readonly ListedPaper[],
  topics: readonly string[],
  perList = 200,
  collate: (a: string, b: string) => number = codePointOrder,
): RankedList {
  const set = new Set(topics);
  const ordered = [...papers].sort(byTrend);
  const hits = (p: ListedPaper) => [...new Set(p.matches.filter((t) => set.has(t)))];
  const ids: number[] = [];
  const matched: (string | null)[] = [];
  for (const p of ordered) {
    if (ids.length >= perList) break;
    const h = hits(p);
    if (h.length === 0) continue;
    ids.push(p.id);
    matched.push(h.sort(collate).join(', '));
  }
  for (const p of ordered.slice(0, perList)) {
    if (hits(p).length > 0) continue;
    ids.push(p.id);
    matched.push(null);
  }
  return { ids, matched };
}

export interface ListPick {
  paperId: number;
  /** The topics it matches, as the list holds them; null for a trending pick. */
  matched: string | null;
}

/** A reader walks the list in order, skipping what they were sent, until they have `max`. */
export function walkList(list: RankedList, isSent: (id: number) => boolean, max: number): ListPick[] {
  const picks: ListPick[] = [];
  for (let i = 0; i < list.ids.length && picks.length < max; i++) {
    const id = list.ids[i] as number;
    if (isSent(id)) continue;
    picks.push({ paperId: id, matched: list.matched[i] ?? null });
  }
  return picks;
}

/** `concat_ws(' · ', 'matches: ' || matched, nullif(trend_reason, ''))` */
export function listReason(matched: string | null, trendReason: string): string {
  return [matched === null ? null : `matches: ${matched}`, trendReason || null].filter((s) => s !== null).join(' · ');
}
