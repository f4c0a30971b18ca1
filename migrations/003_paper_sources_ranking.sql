-- Papers from real sources: identifiers, metadata, signals over time, and the ranking functions.

ALTER TABLE papers
  ADD COLUMN arxiv_version  integer,
  ADD COLUMN authors        text[] NOT NULL DEFAULT '{}',
  ADD COLUMN categories     text[] NOT NULL DEFAULT '{}',
  ADD COLUMN keywords       text[] NOT NULL DEFAULT '{}',
  ADD COLUMN published_at   timestamptz,
  -- The day a curator featured it (Hugging Face daily papers).
  ADD COLUMN featured_at    timestamptz,
  ADD COLUMN github_repo    text,
  ADD COLUMN project_page   text,
  -- Latest totals; their history is in paper_observations.
  ADD COLUMN upvotes        integer,
  ADD COLUMN comments       integer,
  ADD COLUMN github_stars   integer,
  ADD COLUMN sources        text[] NOT NULL DEFAULT '{}',
  -- Why the paper trends, in words, refreshed with trend_score ("+35 upvotes today").
  ADD COLUMN trend_reason   text NOT NULL DEFAULT '',
  -- When the paper became news: featured, else published, else first seen. Ranking looks back
  -- a window from here.
  ADD COLUMN fresh_at       timestamptz NOT NULL DEFAULT now();

UPDATE papers SET sources = ARRAY[source], fresh_at = first_seen_at;
ALTER TABLE papers DROP COLUMN source;

-- Title, keywords and abstract, stemmed, weighted so a title match counts most.
CREATE FUNCTION paperboy_paper_search(title text, keywords text[], abstract text)
RETURNS tsvector LANGUAGE sql IMMUTABLE AS $$
  SELECT setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') ||
         setweight(to_tsvector('english'::regconfig, coalesce(array_to_string(keywords, ' '), '')), 'B') ||
         setweight(to_tsvector('english'::regconfig, coalesce(abstract, '')), 'C')
$$;

ALTER TABLE papers DROP COLUMN search;
ALTER TABLE papers ADD COLUMN search tsvector
  GENERATED ALWAYS AS (paperboy_paper_search(title, keywords, abstract)) STORED;
CREATE INDEX papers_search_idx ON papers USING gin (search);
CREATE INDEX papers_fresh_idx ON papers (fresh_at);

-- Signals as each ingest saw them, so that velocity (gain since a day ago) can be ranked.
CREATE TABLE paper_observations (
  paper_id      bigint NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
  observed_at   timestamptz NOT NULL,
  source        text NOT NULL,
  upvotes       integer,
  comments      integer,
  github_stars  integer,
  PRIMARY KEY (paper_id, observed_at, source)
);

-- The papers each of `subscribers` gets next: never one sent to them before, only papers that
-- became news since `since`; those matching their topics first, then the trending list, each most
-- trending first; at most their chosen count; with the reason each is there.
--
-- It ranks a whole planning batch at once. Subscribers share topics, so each distinct topic in the
-- batch is matched once, and each subscriber picks from those lists and one shared trending list;
-- candidates per topic and in the trending list are capped (`per_list`), far above what a digest
-- holds. Measured with bench/ranking.ts (100,000 fresh papers): 1.3 ms per subscriber, where
-- choosing for one subscriber at a time took 25-90 ms each.
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
