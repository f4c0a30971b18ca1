import type { Clock } from '../core/clock.ts';
import type { Queryable } from '../core/db.ts';
import { rankSince } from './ranking.ts';
import { createPaperRepository } from './repository.ts';

/** How far back the archive of past days goes. */
const ARCHIVE_DAYS = 60;
/** Papers on one day's page of the archive. */
const ARCHIVE_DAY_PAPERS = 25;
/** Papers on one page of the home page's trending list. */
export const HOME_PAGE_PAPERS = 20;

/** The papers as readers see them on the web: the home page's count, the feeds, the archive. */
export function createPaperCatalog({
  db,
  clock,
  rankWindowDays,
}: {
  db: Queryable;
  clock: Clock;
  rankWindowDays: number;
}) {
  const repo = createPaperRepository(db);
  return {
    /** How many papers Paperboy knows. */
    count: () => repo.countPapers(),

    /** The trending list (papers news within the ranking window), optionally only those matching any of `topics`. */
    trending: (topics: string[], limit: number) =>
      repo.trendingPapers(rankSince(clock.now(), rankWindowDays), topics, limit),

    /**
     * One page of the trending list (1 = the top), optionally only papers matching any of `topics`,
     * and whether a later page holds more.
     */
    async trendingPage(topics: string[], page: number) {
      const rows = await repo.trendingPapers(
        rankSince(clock.now(), rankWindowDays),
        topics,
        HOME_PAGE_PAPERS + 1,
        (page - 1) * HOME_PAGE_PAPERS,
      );
      return { papers: rows.slice(0, HOME_PAGE_PAPERS), more: rows.length > HOME_PAGE_PAPERS };
    },

    /** One paper, for its own page; undefined when there is none with that id. */
    paper: (id: number) => repo.paperById(id),

    /** Days on which papers became news in the last 60 days, newest first. */
    archiveDays: () => repo.archiveDays(new Date(clock.now().getTime() - ARCHIVE_DAYS * 86_400_000)),

    /** The papers that became news on `day` (UTC), most trending first: the archive's page of that day. */
    archiveDay: (day: string) => repo.archiveDay(day, ARCHIVE_DAY_PAPERS),
  };
}

export type PaperCatalog = ReturnType<typeof createPaperCatalog>;
