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

-- A subscriber's topics as one full-text query: any topic matches (web-search syntax inside a
-- topic: "diffusion model" -robot). NULL when there are no usable topics.
CREATE FUNCTION paperboy_topics_query(topics text[]) RETURNS tsquery LANGUAGE sql IMMUTABLE AS $$
  SELECT to_tsquery('simple', string_agg('(' || q::text || ')', ' | '))
    FROM (SELECT websearch_to_tsquery('english'::regconfig, t) AS q FROM unnest(topics) AS t) parts
   WHERE numnode(q) > 0
$$;

-- The papers a subscriber gets next: never one sent to them before, only papers that became news
-- since `since`; those matching their topics first (by trend score boosted by text relevance),
-- then the trending list; at most `how_many`. Each with its position and the reason it is there.
-- Two index-backed candidate lists (full-text GIN, trend-score btree) keep this from scanning
-- every paper for every subscriber.
CREATE FUNCTION paperboy_pick_papers(subscriber bigint, topics text[], how_many integer, since timestamptz)
RETURNS TABLE (paper_id bigint, place bigint, reason text) LANGUAGE sql STABLE AS $$
  WITH q AS (SELECT paperboy_topics_query(topics) AS query),
  matching AS (
    SELECT p.id, true AS matched, p.trend_score * (1 + 4 * ts_rank('{0.1, 0.2, 0.6, 1.0}', p.search, q.query)) AS score
      FROM papers p, q
     WHERE q.query IS NOT NULL AND p.search @@ q.query AND p.fresh_at >= since
       AND NOT EXISTS (SELECT 1 FROM delivery_papers seen WHERE seen.subscriber_id = subscriber AND seen.paper_id = p.id)
     ORDER BY score DESC, p.id
     LIMIT how_many
  ),
  trending AS (
    SELECT p.id, false AS matched, p.trend_score AS score
      FROM papers p
     WHERE p.fresh_at >= since
       AND NOT EXISTS (SELECT 1 FROM delivery_papers seen WHERE seen.subscriber_id = subscriber AND seen.paper_id = p.id)
     ORDER BY p.trend_score DESC, p.id
     LIMIT how_many
  ),
  chosen AS (
    SELECT DISTINCT ON (id) id, matched, score FROM (SELECT * FROM matching UNION ALL SELECT * FROM trending) c
     ORDER BY id, matched DESC
  ),
  top AS (
    SELECT id, matched, score, row_number() OVER (ORDER BY matched DESC, score DESC, id) AS place
      FROM chosen
     ORDER BY place
     LIMIT how_many
  )
  SELECT top.id, top.place,
         concat_ws(' · ',
           CASE WHEN top.matched THEN 'matches: ' || (
             SELECT string_agg(t, ', ' ORDER BY t) FROM unnest(topics) AS t
              WHERE p.search @@ websearch_to_tsquery('english'::regconfig, t)) END,
           nullif(p.trend_reason, '')) AS reason
    FROM top JOIN papers p ON p.id = top.id
   ORDER BY top.place
$$;
