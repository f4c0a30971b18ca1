-- name: upsert-papers
-- Inserts papers or updates those whose text or position changed, keyed by normalised title;
-- returns one row per paper written (inserted = false for an update), none for unchanged ones.
INSERT INTO papers AS p (title_key, title, abstract, source, seed_position, trend_score)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::integer[], $6::double precision[])
ON CONFLICT (title_key) DO UPDATE
   SET title = EXCLUDED.title,
       abstract = EXCLUDED.abstract,
       seed_position = EXCLUDED.seed_position,
       trend_score = EXCLUDED.trend_score,
       updated_at = now()
 WHERE (p.title, p.abstract, p.seed_position, p.trend_score)
       IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.abstract, EXCLUDED.seed_position, EXCLUDED.trend_score)
RETURNING (xmax = 0) AS inserted;

-- name: count-papers
-- How many papers the database knows.
SELECT count(*)::integer AS n FROM papers;
