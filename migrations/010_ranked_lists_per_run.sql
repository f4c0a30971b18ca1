-- Planning ranks each topic set once per run instead of once per batch.
--
-- paperboy_pick_for built the ranked list of every distinct topic set in a batch, then walked it
-- for each subscriber. The lists depend only on the papers and the window, not on the
-- subscribers, yet every batch of 200 rebuilt them: most of a batch's picking time, 50 times
-- over for 10,000 subscribers. Now the planner keeps the lists of one run in ranked_lists
-- (remember-ranked-lists, before each batch's pick) and drops them when the run ends. A run sees
-- the papers as they were when it first needed each list; preview and a single batch outside a
-- run compute theirs as before.

-- A cache, rebuilt by the next run if lost: unlogged, so writing it costs no WAL.
CREATE UNLOGGED TABLE ranked_lists (
  run_id      uuid NOT NULL,
  topics      text[] NOT NULL,
  ids         bigint[] NOT NULL,
  matched     text[] NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, topics)
);

-- The ranked list of each distinct topic set among `subscribers`: the papers matching any of its
-- topics (with which ones), best first, then the trending papers that match none of them, as two
-- parallel arrays. Moved here unchanged from paperboy_pick_for (migration 005).
CREATE FUNCTION paperboy_lists_for(subscribers bigint[], since timestamptz, per_list integer DEFAULT 200)
RETURNS TABLE (topics text[], ids bigint[], matched text[]) LANGUAGE sql STABLE AS $$
  WITH batch AS MATERIALIZED (
    SELECT s.topics FROM subscribers s WHERE s.id = ANY(subscribers)
  ),
  topic_sets AS MATERIALIZED (
    SELECT DISTINCT b.topics FROM batch b
  ),
  topics AS MATERIALIZED (
    SELECT DISTINCT t AS topic, websearch_to_tsquery('english'::regconfig, t) AS query
      FROM topic_sets ts, unnest(ts.topics) AS t
  ),
  topic_papers AS MATERIALIZED (
    SELECT tp.topic, c.id, c.trend_score
      FROM topics tp
     CROSS JOIN LATERAL (
       SELECT p.id, p.trend_score FROM papers p
        WHERE numnode(tp.query) > 0 AND p.search @@ tp.query AND p.fresh_at >= since
        ORDER BY p.trend_score DESC, p.id
        LIMIT per_list
     ) c
  ),
  trending AS MATERIALIZED (
    SELECT p.id, p.trend_score FROM papers p
     WHERE p.fresh_at >= since
     ORDER BY p.trend_score DESC, p.id
     LIMIT per_list
  ),
  lists AS MATERIALIZED (
    SELECT ts.topics, array_agg(e.id ORDER BY e.n) AS ids, array_agg(e.matched ORDER BY e.n) AS matched
      FROM topic_sets ts
     CROSS JOIN LATERAL (
       SELECT m.id, m.matched, row_number() OVER (ORDER BY m.trend_score DESC, m.id) AS n
         FROM (SELECT tp.id, max(tp.trend_score) AS trend_score, string_agg(tp.topic, ', ' ORDER BY tp.topic) AS matched
                 FROM topic_papers tp WHERE tp.topic = ANY(ts.topics)
                GROUP BY tp.id
                ORDER BY 2 DESC, 1
                LIMIT per_list) m
       UNION ALL
       SELECT tr.id, NULL, per_list + row_number() OVER (ORDER BY tr.trend_score DESC, tr.id)
         FROM trending tr
        WHERE NOT EXISTS (SELECT 1 FROM topic_papers tp WHERE tp.id = tr.id AND tp.topic = ANY(ts.topics))
     ) e
     GROUP BY ts.topics
  )
  SELECT l.topics, l.ids, l.matched FROM lists l
$$;

-- Picks for a batch as before, from the lists planning run `run` remembered, computing only
-- those it has not (all of them without a run).
DROP FUNCTION paperboy_pick_for(bigint[], timestamptz, integer);
CREATE FUNCTION paperboy_pick_for(subscribers bigint[], since timestamptz, per_list integer DEFAULT 200, run uuid DEFAULT NULL)
RETURNS TABLE (subscriber_id bigint, paper_id bigint, place bigint, reason text) LANGUAGE sql STABLE AS $$
  WITH batch AS MATERIALIZED (
    SELECT s.id, s.topics, s.max_papers FROM subscribers s WHERE s.id = ANY(subscribers)
  ),
  remembered AS MATERIALIZED (
    SELECT r.topics, r.ids, r.matched FROM ranked_lists r
     WHERE r.run_id = run AND r.topics IN (SELECT DISTINCT b.topics FROM batch b)
  ),
  lists AS MATERIALIZED (
    SELECT * FROM remembered
    UNION ALL
    SELECT * FROM paperboy_lists_for(
      ARRAY(SELECT b.id FROM batch b WHERE NOT EXISTS (SELECT 1 FROM remembered m WHERE m.topics = b.topics)),
      since, per_list)
  ),
  -- Each subscriber walks their list in order, skipping papers sent before, until they have
  -- their count: a subscriber costs a few index lookups, not one per listed paper. This relies
  -- on the scan of the unnested list keeping its order up to the LIMIT, so the check for papers
  -- sent before is a scalar subquery on purpose: written as NOT EXISTS, PostgreSQL may turn it
  -- into a join that hashes the list and returns it in any order (tests catch that).
  picked AS (
    SELECT b.id AS subscriber_id, u.id AS paper_id, u.n, u.matched
      FROM batch b
      JOIN lists l ON l.topics = b.topics
     CROSS JOIN LATERAL (
       SELECT x.id, x.matched, x.n
         FROM unnest(l.ids, l.matched) WITH ORDINALITY AS x (id, matched, n)
        WHERE (SELECT seen.paper_id FROM delivery_papers seen
                WHERE seen.subscriber_id = b.id AND seen.paper_id = x.id) IS NULL
        LIMIT b.max_papers
     ) u
  )
  SELECT pk.subscriber_id, pk.paper_id, row_number() OVER (PARTITION BY pk.subscriber_id ORDER BY pk.n),
         concat_ws(' · ', 'matches: ' || pk.matched, nullif(p.trend_reason, ''))
    FROM picked pk
    JOIN papers p ON p.id = pk.paper_id
$$;
