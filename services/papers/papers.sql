-- The papers and what is known of them: merging what sources report, the lists the site and feeds
-- show, and the history of reads. {{paper-columns}} stands for the columns ingest writes, listed
-- once beside the row they form (PAPER_COLUMNS in services/papers/merge.ts).

-- name: find-paper
-- The row a reported paper merges into: the one with its arXiv id, else one with its title key,
-- unless both know an arXiv id (then they differ, and a shared title does not make them one paper).
SELECT id, {{paper-columns}}
  FROM papers
 WHERE arxiv_id = $1
    OR (title_key = $2 AND (arxiv_id IS NULL OR $1::text IS NULL))
 ORDER BY (arxiv_id IS NOT DISTINCT FROM $1) DESC, id
 LIMIT 1;

-- name: insert-paper
-- A paper seen for the first time: $1 is its row, a JSON record of the columns.
INSERT INTO papers ({{paper-columns}})
SELECT {{paper-columns}} FROM jsonb_populate_record(NULL::papers, $1::jsonb)
RETURNING id;

-- name: update-paper
-- Writes a merged row back: paper $1, its columns in the JSON record $2.
UPDATE papers
   SET ({{paper-columns}}, updated_at) = (
         SELECT {{paper-columns}}, now() FROM jsonb_populate_record(NULL::papers, $2::jsonb))
 WHERE id = $1;

-- name: record-observation
-- The signals a source reported for a paper at one moment.
INSERT INTO paper_observations (paper_id, observed_at, source, upvotes, comments, github_stars)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (paper_id, observed_at, source) DO NOTHING;

-- name: count-papers
-- How many papers the database knows.
SELECT count(*)::integer AS n FROM papers;

-- name: trending-papers
-- The trending list for the home page and the feeds: papers news since $1, optionally only those
-- matching any of the topics in $2 (full-text, web-search syntax per topic), most trending first,
-- at most $3 after skipping the first $4 (a later page of the list). The
-- topics become one query, parsed once; the window's papers are read by papers_fresh_idx and
-- ranked among themselves (the OFFSET 0 keeps the planner from walking papers_trend_idx instead,
-- through every older paper scored above them), so the cost follows what became news in the
-- window, not the whole table, whatever the topics.
WITH wanted AS (
  SELECT paperboy_any_tsquery(websearch_to_tsquery('english'::regconfig, t)) AS q
    FROM unnest($2::text[]) AS t
), picked AS (
  SELECT r.id, r.trend_score
    FROM (SELECT id, trend_score, search FROM papers WHERE fresh_at >= $1 OFFSET 0) r, wanted w
   WHERE w.q IS NULL OR r.search @@ w.q
   ORDER BY r.trend_score DESC, r.id
   LIMIT $3 OFFSET $4
)
SELECT {{shown-columns}}
  FROM picked k JOIN papers p ON p.id = k.id
 ORDER BY k.trend_score DESC, k.id;

-- name: paper-by-id
-- One paper as its own page shows it.
SELECT {{shown-columns}}
  FROM papers p
 WHERE p.id = $1;

-- name: archive-days
-- The days (UTC) on which papers became news, newest first, for the archive.
SELECT to_char(fresh_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*)::integer AS papers
  FROM papers
 WHERE fresh_at >= $1
 GROUP BY 1
 ORDER BY 1 DESC;

-- name: archive-day
-- The general digest of one day: the papers that became news that day (UTC), most trending first.
SELECT p.id, p.title, p.abstract, p.arxiv_id, p.trend_reason
  FROM papers p
 WHERE p.fresh_at >= ($1::date)::timestamp AT TIME ZONE 'UTC'
   AND p.fresh_at < ($1::date + 1)::timestamp AT TIME ZONE 'UTC'
 ORDER BY p.trend_score DESC, p.id
 LIMIT $2;

-- name: record-ingest-run
-- One read of a source, for the history on the status page: its counts and why entries were
-- skipped when it worked, its error when it did not. $1 is the row, a JSON record of the columns.
INSERT INTO ingest_runs (source, location, started_at, finished_at, status,
                         entries, new, updated, unchanged, skipped, error, skipped_reasons, skipped_entries)
SELECT source, location, started_at, finished_at, status,
       entries, new, updated, unchanged, skipped, error, skipped_reasons, skipped_entries
  FROM jsonb_populate_record(NULL::ingest_runs, $1::jsonb);
