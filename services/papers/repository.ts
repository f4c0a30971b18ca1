import type { Queryable } from '../core/db.ts';
import { jsonParam, loadQueries } from '../core/sql.ts';
import type { WindowPaper } from '../relevance/window.ts';
import type { SkipTally } from './limits.ts';
import { PAPER_COLUMNS, type PaperRow } from './merge.ts';
import { stripControls } from './normalize.ts';

/** What a reader is shown of any paper, on the web and in a digest. */
export interface PaperFacts {
  id: number;
  title: string;
  abstract: string;
  arxiv_id: string | null;
  authors: string[];
  organization: string | null;
  ai_summary: string | null;
  upvotes: number | null;
  comments: number | null;
  github_stars: number | null;
  github_repo: string | null;
  project_page: string | null;
}

/** Their columns, for the queries that read them (`{{fact-columns}}`). */
export const FACT_COLUMNS = [
  'id',
  'title',
  'abstract',
  'arxiv_id',
  'authors',
  'organization',
  'ai_summary',
  'upvotes',
  'comments',
  'github_stars',
  'github_repo',
  'project_page',
] as const satisfies readonly (keyof PaperFacts)[];

/** A paper as the trending list and a paper's page show it. */
export interface ShownPaper extends PaperFacts {
  categories: string[];
  trend_reason: string;
  fresh_at: Date;
  updated_at: Date;
}

const SHOWN_COLUMNS = [
  ...FACT_COLUMNS,
  'categories',
  'trend_reason',
  'fresh_at',
  'updated_at',
] as const satisfies readonly (keyof ShownPaper)[];

const fragments = {
  'paper-columns': PAPER_COLUMNS.join(', '),
  'shown-columns': SHOWN_COLUMNS.map((c) => `p.${c}`).join(', '),
};
const factColumns = { 'fact-columns': FACT_COLUMNS.map((c) => `p.${c}`).join(', ') };
/** What relevance reads of a paper (RelevancePaper). */
const RELEVANCE_COLUMNS = [
  'id',
  'title',
  'abstract',
  'keywords',
  'authors',
  'organization',
  'trend_score',
  'trend_reason',
  'upvotes',
  'comments',
  'github_stars',
] as const;
const relevanceColumns = { 'relevance-columns': RELEVANCE_COLUMNS.map((c) => `p.${c}`).join(', ') };

const papersSql = loadQueries(
  new URL('./papers.sql', import.meta.url),
  [
    'find-paper',
    'insert-paper',
    'update-paper',
    'record-observation',
    'count-papers',
    'trending-papers',
    'paper-by-id',
    'archive-days',
    'archive-day',
    'record-ingest-run',
  ],
  { fragments },
);

const rankingSql = loadQueries(
  new URL('./ranking.sql', import.meta.url),
  [
    'refresh-trend-scores',
    'retire-old-scores',
    'remember-ranked-lists',
    'forget-ranked-lists',
    'preview-picks',
    'preview-papers',
    'ranked-lists-of',
    'relevance-window',
    'relevance-papers',
    'window-papers-by-names',
  ],
  { fragments: { ...factColumns, ...relevanceColumns } },
);

/** A paper as relevance reads it: its text, names, trend and live signals (relevance/window.ts). */
export type RelevancePaper = WindowPaper;

type RelevanceRecord = Omit<RelevancePaper, 'trendScore' | 'trendReason' | 'githubStars'> & {
  trend_score: number;
  trend_reason: string;
  github_stars: number | null;
};

const relevancePaper = (r: RelevanceRecord): RelevancePaper => ({
  id: Number(r.id),
  title: r.title,
  abstract: r.abstract,
  keywords: r.keywords,
  authors: r.authors,
  organization: r.organization,
  trendScore: r.trend_score,
  trendReason: r.trend_reason,
  upvotes: r.upvotes,
  comments: r.comments,
  githubStars: r.github_stars,
});

/** A row of the trending list, as the home page and the feeds show it. */
export type TrendingPaper = ShownPaper;

/** A paper of one day's general digest, as the archive shows it. */
export interface ArchivedPaper {
  id: number;
  title: string;
  abstract: string;
  arxiv_id: string | null;
  trend_reason: string;
}

/** A pick the next digest would hold, with the numbers behind it. */
export interface PreviewPick extends PaperFacts {
  position: number;
  reason: string;
  trend_score: string;
  /** The relevance blend's score, for a reader with a model (services/relevance/pick.ts). */
  score?: number | null;
}

/** Signals a source reported for a paper at one moment. */
export interface Observation {
  paperId: number;
  at: Date;
  source: string;
  upvotes?: number;
  comments?: number;
  githubStars?: number;
}

/** One read of a source: where, when, and what it found (or why it failed). */
export interface IngestRun {
  source: string;
  location: string;
  startedAt: Date;
  finishedAt: Date;
  /** The report of a run that worked; the error of one that did not. */
  outcome:
    | { report: SkipTally & { entries: number; new: number; updated: number; unchanged: number } }
    | { error: string };
}

/** A run as `ingest_runs` keeps it. */
function ingestRunRow(run: IngestRun) {
  const r = 'report' in run.outcome ? run.outcome.report : undefined;
  return {
    source: run.source,
    location: stripControls(run.location),
    started_at: run.startedAt,
    finished_at: run.finishedAt,
    status: r ? 'ok' : 'failed',
    entries: r?.entries ?? null,
    new: r?.new ?? null,
    updated: r?.updated ?? null,
    unchanged: r?.unchanged ?? null,
    skipped: r?.skipped ?? null,
    // A failure's message can quote the source; NUL would make PostgreSQL refuse the whole row.
    error: 'error' in run.outcome ? stripControls(run.outcome.error).slice(0, 2_000) : null,
    skipped_reasons: r?.skippedReasons ?? null,
    skipped_entries: r?.skippedEntries ?? null,
  };
}

/** The columns ingest writes, as one record (absent values as null, so every column is given). */
const paperRecord = (row: PaperRow) => jsonParam(Object.fromEntries(PAPER_COLUMNS.map((c) => [c, row[c] ?? null])));

/**
 * Everything Paperboy reads and writes about papers, and the ranking queries over them: the one
 * module of the papers domain that runs SQL. On `db`, the pool or one client in a transaction.
 */
export function createPaperRepository(db: Queryable) {
  return {
    /** The row a reported paper merges into (its arXiv id, else its title key), if any. */
    async findPaper(arxivId: string | null, titleKey: string): Promise<(PaperRow & { id: number }) | undefined> {
      return (await db.query<PaperRow & { id: number }>(papersSql['find-paper'], [arxivId, titleKey])).rows[0];
    },
    /** Adds a paper; returns its id. */
    async insertPaper(row: PaperRow): Promise<number> {
      return (await db.query<{ id: number }>(papersSql['insert-paper'], [paperRecord(row)])).rows[0]!.id;
    },
    async updatePaper(id: number, row: PaperRow): Promise<void> {
      await db.query(papersSql['update-paper'], [id, paperRecord(row)]);
    },
    async recordObservation(o: Observation): Promise<void> {
      await db.query(papersSql['record-observation'], [
        o.paperId,
        o.at,
        o.source,
        o.upvotes ?? null,
        o.comments ?? null,
        o.githubStars ?? null,
      ]);
    },
    /** Keeps one read of a source in `ingest_runs`. */
    async recordIngestRun(run: IngestRun): Promise<void> {
      await db.query(papersSql['record-ingest-run'], [jsonParam(ingestRunRow(run))]);
    },
    async countPapers(): Promise<number> {
      return (await db.query<{ n: number }>(papersSql['count-papers'])).rows[0]?.n ?? 0;
    },
    /** The trending list of papers news since `since`, optionally narrowed to those matching any of `topics`. */
    async trendingPapers(since: Date, topics: string[], limit: number, offset = 0): Promise<TrendingPaper[]> {
      return (await db.query<TrendingPaper>(papersSql['trending-papers'], [since, topics, limit, offset])).rows;
    },
    /** One paper as its own page shows it, if it exists. */
    async paperById(id: number): Promise<ShownPaper | undefined> {
      return (await db.query<ShownPaper>(papersSql['paper-by-id'], [id])).rows[0];
    },
    /** Days on which papers became news since `since`, newest first. */
    async archiveDays(since: Date): Promise<{ day: string; papers: number }[]> {
      return (await db.query<{ day: string; papers: number }>(papersSql['archive-days'], [since])).rows;
    },
    /** The papers that became news on `day` (UTC), most trending first. */
    async archiveDay(day: string, limit: number): Promise<ArchivedPaper[]> {
      return (await db.query<ArchivedPaper>(papersSql['archive-day'], [day, limit])).rows;
    },

    /** Recomputes trend scores and their reasons as of `at`; returns how many changed. */
    async refreshTrends(at: Date): Promise<number> {
      const refreshed = await db.query(rankingSql['refresh-trend-scores'], [at]);
      await db.query(rankingSql['retire-old-scores'], [at]);
      return refreshed.rowCount ?? 0;
    },
    /**
     * Ranks, for planning run `runId`, the topic sets among `subscriberIds` it has no list for
     * yet; returns how many lists it added. Within a run each topic set is ranked once and its
     * list kept for the run's later batches (`paperboy_pick_for` reads them);
     * `forgetRankedLists` drops them when the run ends.
     */
    async rememberRankedLists(runId: string, subscriberIds: number[], since: Date): Promise<number> {
      return (await db.query(rankingSql['remember-ranked-lists'], [runId, subscriberIds, since])).rowCount ?? 0;
    },
    /** Drops a planning run's ranked lists, and any left by runs that never ended. */
    async forgetRankedLists(runId: string): Promise<void> {
      await db.query(rankingSql['forget-ranked-lists'], [runId]);
    },
    /** The ranked lists of the subscribers' topic sets: the run's remembered ones, the others computed. */
    async rankedListsOf(
      runId: string | undefined,
      subscriberIds: number[],
      since: Date,
    ): Promise<Map<string, { ids: number[]; matched: (string | null)[] }>> {
      const { rows } = await db.query<{ topics: string[]; ids: string[]; matched: (string | null)[] }>(
        rankingSql['ranked-lists-of'],
        [runId ?? null, subscriberIds, since],
      );
      return new Map(rows.map((r) => [topicSetKey(r.topics), { ids: r.ids.map(Number), matched: r.matched }]));
    },
    /** The `limit` most trending papers news since `since`, for relevance's word weights. */
    async relevanceWindow(since: Date, limit: number): Promise<RelevancePaper[]> {
      return (await db.query<RelevanceRecord>(rankingSql['relevance-window'], [since, limit])).rows.map(relevancePaper);
    },
    async relevancePapers(ids: number[]): Promise<RelevancePaper[]> {
      return (await db.query<RelevanceRecord>(rankingSql['relevance-papers'], [ids])).rows.map(relevancePaper);
    },
    /** Papers news since `since` possibly by one of the names whose a–z and digits are `letters`. */
    async windowPapersByNames(since: Date, letters: string[]): Promise<RelevancePaper[]> {
      return (await db.query<RelevanceRecord>(rankingSql['window-papers-by-names'], [since, letters])).rows.map(
        relevancePaper,
      );
    },
    /** Picks made elsewhere (the planner's personal path), with their papers as a preview shows them. */
    async previewPapers(
      picks: readonly { paperId: number; place: number; reason: string; score: number | null }[],
    ): Promise<PreviewPick[]> {
      const { rows } = await db.query<PaperFacts & { id: number; trend_score: string }>(rankingSql['preview-papers'], [
        picks.map((p) => p.paperId),
      ]);
      const byId = new Map(rows.map((r) => [Number(r.id), r]));
      return picks.flatMap((p) => {
        const paper = byId.get(p.paperId);
        return paper ? [{ ...paper, position: p.place, reason: p.reason, score: p.score }] : [];
      });
    },
    /** What a subscriber would get next, without recording anything. */
    async previewPicks(subscriberId: number, since: Date): Promise<PreviewPick[]> {
      return (await db.query<PreviewPick>(rankingSql['preview-picks'], [subscriberId, since])).rows;
    },
  };
}

export type PaperRepository = ReturnType<typeof createPaperRepository>;

/** A topic set as a map key: the list as stored (ranked_lists.topics equals subscribers.topics). */
export const topicSetKey = (topics: readonly string[]) => JSON.stringify(topics);
