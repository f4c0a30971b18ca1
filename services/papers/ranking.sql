-- name: pick-papers-for-deliveries
-- Chooses and records each delivery's papers: never one the subscriber was sent before, papers
-- matching their topics first (by full-text search over title and abstract), then by trend
-- score; at most their chosen count. Each row carries the reason it was picked.
INSERT INTO delivery_papers (delivery_id, subscriber_id, paper_id, position, reason)
SELECT d.id, d.subscriber_id, r.paper_id, r.position, r.reason
  FROM deliveries d
  JOIN subscribers s ON s.id = d.subscriber_id
 CROSS JOIN LATERAL (
   SELECT c.paper_id,
          row_number() OVER (ORDER BY cardinality(c.matched) DESC, c.trend_score DESC, c.paper_id) AS position,
          concat_ws('; ',
            CASE WHEN cardinality(c.matched) > 0 THEN 'matches: ' || array_to_string(c.matched, ', ') END,
            CASE WHEN c.seed_position IS NOT NULL THEN '#' || c.seed_position || ' on the trending page' END,
            CASE WHEN cardinality(c.matched) = 0 AND c.seed_position IS NULL THEN 'trending now' END
          ) AS reason
     FROM (
       SELECT p.id AS paper_id, p.trend_score, p.seed_position, m.matched
         FROM papers p
        CROSS JOIN LATERAL (
          SELECT coalesce(array_agg(t ORDER BY t), '{}') AS matched
            FROM unnest(s.topics) AS t
           WHERE p.search @@ plainto_tsquery('english', t)
        ) m
        WHERE NOT EXISTS (
          SELECT 1 FROM delivery_papers seen WHERE seen.subscriber_id = s.id AND seen.paper_id = p.id)
        ORDER BY cardinality(m.matched) DESC, p.trend_score DESC, p.id
        LIMIT s.max_papers
     ) c
 ) r
 WHERE d.id = ANY($1::bigint[]);
