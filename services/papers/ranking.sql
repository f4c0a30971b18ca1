-- name: refresh-trend-scores
-- Recomputes every recent paper's trend score and its reason in words, as of $1:
--   points = upvotes + 2 * comments + stars / 10             (totals now)
--   gain   = the same points gained in the last 24 hours       (velocity, from observations)
--   seed   = 100 / position on the seed page                   (the page's only signal)
--   score  = (1 + points + 3 * gain + seed) / (hours since it became news + 2) ^ 1.5
-- Papers older than 60 days drop to 0.
WITH recent AS (
  SELECT p.id, p.upvotes, p.comments, p.github_stars, p.seed_position, p.categories,
         greatest(extract(epoch FROM ($1::timestamptz - p.fresh_at)) / 3600, 0) AS age_hours,
         coalesce(day_ago.upvotes, CASE WHEN p.fresh_at >= $1::timestamptz - interval '24 hours' THEN 0 ELSE first_seen.upvotes END) AS upvotes_then,
         coalesce(day_ago.comments, CASE WHEN p.fresh_at >= $1::timestamptz - interval '24 hours' THEN 0 ELSE first_seen.comments END) AS comments_then,
         coalesce(day_ago.github_stars, CASE WHEN p.fresh_at >= $1::timestamptz - interval '24 hours' THEN 0 ELSE first_seen.github_stars END) AS stars_then
    FROM papers p
    LEFT JOIN LATERAL (
      SELECT max(o.upvotes) AS upvotes, max(o.comments) AS comments, max(o.github_stars) AS github_stars
        FROM paper_observations o
       WHERE o.paper_id = p.id
         AND o.observed_at = (SELECT max(observed_at) FROM paper_observations
                               WHERE paper_id = p.id AND observed_at <= $1::timestamptz - interval '24 hours')
    ) day_ago ON true
    LEFT JOIN LATERAL (
      SELECT o.upvotes, o.comments, o.github_stars FROM paper_observations o
       WHERE o.paper_id = p.id ORDER BY o.observed_at LIMIT 1
    ) first_seen ON true
   WHERE p.fresh_at >= $1::timestamptz - interval '60 days'
), signals AS (
  SELECT r.*,
         coalesce(upvotes, 0) + 2 * coalesce(comments, 0) + coalesce(github_stars, 0) / 10.0 AS points,
         greatest(coalesce(upvotes, 0) - coalesce(upvotes_then, upvotes, 0), 0) AS upvotes_gain,
         greatest(coalesce(comments, 0) - coalesce(comments_then, comments, 0), 0) AS comments_gain,
         greatest(coalesce(github_stars, 0) - coalesce(stars_then, github_stars, 0), 0) AS stars_gain
    FROM recent r
), scored AS (
  SELECT id,
         (1 + points + 3 * (upvotes_gain + 2 * comments_gain + stars_gain / 10.0)
            + coalesce(100.0 / seed_position, 0)) / power(age_hours + 2, 1.5) AS score,
         coalesce(nullif(concat_ws(', ',
           CASE WHEN upvotes_gain > 0 THEN '+' || upvotes_gain || ' upvotes today'
                WHEN upvotes > 0 THEN upvotes || ' upvotes' END,
           CASE WHEN stars_gain > 0 THEN '+' || stars_gain || ' GitHub stars today'
                WHEN github_stars > 0 THEN github_stars || ' GitHub stars' END,
           CASE WHEN comments > 0 THEN comments || ' comment' || CASE WHEN comments = 1 THEN '' ELSE 's' END END,
           CASE WHEN seed_position IS NOT NULL THEN '#' || seed_position || ' on the trending page' END), ''),
           'new' || coalesce(' in ' || categories[1], '')) AS reason
    FROM signals
)
UPDATE papers p
   SET trend_score = scored.score, trend_reason = scored.reason
  FROM scored
 WHERE p.id = scored.id
   AND (p.trend_score, p.trend_reason) IS DISTINCT FROM (scored.score, scored.reason);

-- name: retire-old-scores
-- Papers that stopped being news stop trending.
UPDATE papers SET trend_score = 0
 WHERE fresh_at < $1::timestamptz - interval '60 days' AND trend_score <> 0;

-- name: remember-ranked-lists
-- Ranks, for planning run $1, the topic sets among subscribers $2 it has no list for yet, from
-- papers news since $3 (see migration 010): each set once per run, not once per batch.
INSERT INTO ranked_lists (run_id, topics, ids, matched)
SELECT $1, l.topics, l.ids, l.matched
  FROM paperboy_lists_for(
         ARRAY(SELECT s.id FROM subscribers s
                WHERE s.id = ANY($2::bigint[])
                  AND NOT EXISTS (SELECT 1 FROM ranked_lists r WHERE r.run_id = $1 AND r.topics = s.topics)),
         $3) l
ON CONFLICT (run_id, topics) DO NOTHING;

-- name: forget-ranked-lists
-- A planning run's lists once it ends, and those of runs that never ended (a planner killed).
DELETE FROM ranked_lists WHERE run_id = $1 OR created_at < now() - interval '1 day';

-- name: preview-picks
-- What one subscriber would get now, with the numbers behind each pick, for operators.
SELECT r.place AS position, r.reason, {{fact-columns}}, round(p.trend_score::numeric, 4) AS trend_score
  FROM paperboy_pick_for(ARRAY[$1::bigint], $2) r
  JOIN papers p ON p.id = r.paper_id
 ORDER BY r.place;

-- name: preview-papers
-- Papers $1 as a preview shows them, with their trend score.
SELECT {{fact-columns}}, round(p.trend_score::numeric, 4) AS trend_score
  FROM papers p WHERE p.id = ANY($1::bigint[]);

-- name: ranked-lists-of
-- The ranked lists of subscribers $2's topic sets, from papers news since $3: those planning run
-- $1 remembered, and the others computed now (all of them when $1 is NULL).
WITH sets AS MATERIALIZED (
  SELECT DISTINCT s.topics FROM subscribers s WHERE s.id = ANY($2::bigint[])
),
remembered AS MATERIALIZED (
  SELECT r.topics, r.ids, r.matched FROM ranked_lists r
   WHERE $1::uuid IS NOT NULL AND r.run_id = $1::uuid AND r.topics IN (SELECT topics FROM sets)
)
SELECT topics, ids, matched FROM remembered
UNION ALL
SELECT l.topics, l.ids, l.matched
  FROM paperboy_lists_for(
         ARRAY(SELECT s.id FROM subscribers s
                WHERE s.id = ANY($2::bigint[])
                  AND NOT EXISTS (SELECT 1 FROM remembered m WHERE m.topics = s.topics)),
         $3) l;

-- name: relevance-window
-- The papers news since $1 that relevance learns word weights from: the $2 most trending.
SELECT {{relevance-columns}} FROM papers p
 WHERE p.fresh_at >= $1
 ORDER BY p.trend_score DESC, p.id
 LIMIT $2;

-- name: relevance-papers
-- Papers $1 with what relevance reads of them.
SELECT {{relevance-columns}} FROM papers p WHERE p.id = ANY($1::bigint[]);

-- name: window-papers-by-names
-- Papers news since $1 by any of the names $2, given as their letters a–z and digits (see
-- names-like in interests.sql): a coarse filter whose hits the caller checks by name key.
SELECT {{relevance-columns}} FROM papers p
 WHERE p.fresh_at >= $1
   AND EXISTS (SELECT 1 FROM unnest(p.authors || p.organization) AS n (name)
                WHERE regexp_replace(lower(normalize(n.name, NFKD)), '[^a-z0-9]', '', 'g') = ANY($2::text[]));
