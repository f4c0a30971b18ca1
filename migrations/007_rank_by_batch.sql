-- Ranking a whole planning batch at once. Measured with bench/ranking.ts (100,000 fresh papers):
-- choosing per subscriber cost 25-90 ms each, because a subscriber's topics are only known at run
-- time and PostgreSQL then plans for few matches and sorts all of them. Subscribers share topics,
-- so each distinct topic in the batch is now matched once, and each subscriber picks from those
-- lists and one shared trending list.

DROP FUNCTION paperboy_pick_papers(bigint, text[], integer, timestamptz);

-- The papers each of `subscribers` gets next: never one sent to them before, only papers that
-- became news since `since`; those matching their topics first, then the trending list, each most
-- trending first; at most their chosen count; with the reason each is there. Candidates per topic
-- and in the trending list are capped (`per_list`), far above what a digest holds.
CREATE FUNCTION paperboy_pick_for(subscribers bigint[], since timestamptz, per_list integer DEFAULT 200)
RETURNS TABLE (subscriber_id bigint, paper_id bigint, place bigint, reason text) LANGUAGE sql STABLE AS $$
  WITH batch AS MATERIALIZED (
    SELECT s.id, s.topics, s.max_papers FROM subscribers s WHERE s.id = ANY(subscribers)
  ),
  topics AS MATERIALIZED (
    SELECT DISTINCT t AS topic, websearch_to_tsquery('english'::regconfig, t) AS query
      FROM batch, unnest(batch.topics) AS t
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
  -- Set-based: every (subscriber, paper) a subscriber's topics match, unsent, best first.
  matched AS (
    SELECT b.id AS subscriber_id, tp.id AS paper_id, max(tp.trend_score) AS trend_score,
           string_agg(tp.topic, ', ' ORDER BY tp.topic) AS topics
      FROM batch b
     CROSS JOIN unnest(b.topics) AS t (topic)
      JOIN topic_papers tp ON tp.topic = t.topic
     WHERE NOT EXISTS (SELECT 1 FROM delivery_papers seen WHERE seen.subscriber_id = b.id AND seen.paper_id = tp.id)
     GROUP BY b.id, tp.id
  ),
  candidates AS (
    SELECT m.subscriber_id, m.paper_id, true AS matched, m.trend_score, m.topics
      FROM (SELECT m.*, row_number() OVER (PARTITION BY m.subscriber_id ORDER BY m.trend_score DESC, m.paper_id) AS n
              FROM matched m) m
      JOIN batch b ON b.id = m.subscriber_id
     WHERE m.n <= b.max_papers
    UNION ALL
    SELECT b.id, t.id, false, t.trend_score, NULL
      FROM batch b
     CROSS JOIN LATERAL (
       SELECT tr.id, tr.trend_score FROM trending tr
        WHERE NOT EXISTS (SELECT 1 FROM delivery_papers seen WHERE seen.subscriber_id = b.id AND seen.paper_id = tr.id)
        ORDER BY tr.trend_score DESC, tr.id
        LIMIT b.max_papers
     ) t
  ),
  chosen AS (
    SELECT DISTINCT ON (c.subscriber_id, c.paper_id) c.*
      FROM candidates c
     ORDER BY c.subscriber_id, c.paper_id, c.matched DESC
  ),
  ranked AS (
    SELECT c.*, row_number() OVER (PARTITION BY c.subscriber_id ORDER BY c.matched DESC, c.trend_score DESC, c.paper_id) AS place
      FROM chosen c
  )
  SELECT r.subscriber_id, r.paper_id, r.place,
         concat_ws(' · ', CASE WHEN r.matched THEN 'matches: ' || r.topics END, nullif(p.trend_reason, ''))
    FROM ranked r
    JOIN batch b ON b.id = r.subscriber_id
    JOIN papers p ON p.id = r.paper_id
   WHERE r.place <= b.max_papers
$$;
