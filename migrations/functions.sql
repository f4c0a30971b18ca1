-- The SQL functions Paperboy's queries call, as they are now: each one's current definition, in
-- one place. Applied at every start right after the migrations, in the same transaction and under
-- the same lock (services/core/migrate.ts), with CREATE OR REPLACE: applying it again changes
-- nothing, and a changed body here is what every process runs after its next start.
--
-- The migrations keep their own copies as history (a fresh database replays them, then this
-- file). A new function or a new body goes here alone. What CREATE OR REPLACE cannot do needs a
-- migration first: a new signature or return type (drop the old function there), or a function
-- a stored column is computed with (paperboy_paper_search: the rows keep what the old body
-- computed until the migration rewrites them).

-- Schedules -----------------------------------------------------------------------------------

-- The first instant strictly after `after` at which a subscriber's digest is due: their chosen
-- local hour on each local day (daily), on each local Monday to Friday (weekdays: papers are not
-- announced on weekends), or on their weekday (weekly). One candidate per local day,
-- so a daylight-saving change yields one digest that day, never zero or two: a local time that
-- does not exist is read in the offset before the change (02:30 becomes 03:30), a repeated one
-- resolves to a single instant. Computed directly (migration 009): today (daily) or the next
-- `weekday`, one step (1 or 7 days) later if its hour has passed; test/slow/schedule-instants.test.ts
-- compares it with the candidate-day definition of migration 001.
CREATE OR REPLACE FUNCTION paperboy_next_send_at(after timestamptz, tz text, send_hour integer, frequency text, weekday integer)
RETURNS timestamptz LANGUAGE plpgsql STABLE STRICT AS $$
DECLARE
  day date := (after AT TIME ZONE tz)::date;
  due timestamptz;
BEGIN
  IF frequency = 'weekdays' THEN
    -- Today if its hour is still ahead, else tomorrow; a Saturday or Sunday moves on to Monday.
    IF (day + make_interval(hours => send_hour)) AT TIME ZONE tz <= after THEN
      day := day + 1;
    END IF;
    day := day + CASE extract(isodow FROM day)::integer WHEN 6 THEN 2 WHEN 7 THEN 1 ELSE 0 END;
    RETURN (day + make_interval(hours => send_hour)) AT TIME ZONE tz;
  END IF;
  IF frequency <> 'daily' THEN
    day := day + (weekday - extract(isodow FROM day)::integer + 7) % 7;
  END IF;
  due := (day + make_interval(hours => send_hour)) AT TIME ZONE tz;
  IF due > after THEN
    RETURN due;
  END IF;
  RETURN (day + CASE WHEN frequency = 'daily' THEN 1 ELSE 7 END + make_interval(hours => send_hour)) AT TIME ZONE tz;
END
$$;

-- The same for a subscriber's row: which columns make up their schedule is written here only.
CREATE OR REPLACE FUNCTION paperboy_next_send_at(after timestamptz, subscriber subscribers)
RETURNS timestamptz LANGUAGE sql STABLE AS $$
  SELECT paperboy_next_send_at(after, subscriber.timezone, subscriber.send_hour, subscriber.frequency,
                               subscriber.send_weekday)
$$;

-- The latest instant at or before `at` when a subscriber's digest was scheduled: after downtime,
-- the digest a planner owes is this one (today's), not the first one missed. Mirrors the one
-- above: the last candidate on or before today, one step earlier if its hour is still ahead.
CREATE OR REPLACE FUNCTION paperboy_last_due_at(at timestamptz, tz text, send_hour integer, frequency text, weekday integer)
RETURNS timestamptz LANGUAGE plpgsql STABLE STRICT AS $$
DECLARE
  day date := (at AT TIME ZONE tz)::date;
  due timestamptz;
BEGIN
  IF frequency = 'weekdays' THEN
    -- Today if its hour has come, else yesterday; a Saturday or Sunday goes back to Friday.
    IF (day + make_interval(hours => send_hour)) AT TIME ZONE tz > at THEN
      day := day - 1;
    END IF;
    day := day - CASE extract(isodow FROM day)::integer WHEN 6 THEN 1 WHEN 7 THEN 2 ELSE 0 END;
    RETURN (day + make_interval(hours => send_hour)) AT TIME ZONE tz;
  END IF;
  IF frequency <> 'daily' THEN
    day := day - (extract(isodow FROM day)::integer - weekday + 7) % 7;
  END IF;
  due := (day + make_interval(hours => send_hour)) AT TIME ZONE tz;
  IF due <= at THEN
    RETURN due;
  END IF;
  RETURN (day - CASE WHEN frequency = 'daily' THEN 1 ELSE 7 END + make_interval(hours => send_hour)) AT TIME ZONE tz;
END
$$;

-- Addresses -----------------------------------------------------------------------------------

-- The one definition of the hash a suppressed address is kept as, used wherever suppressions are
-- written or read.
CREATE OR REPLACE FUNCTION paperboy_email_hash(email text) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT encode(sha256(convert_to('paperboy-suppression:' || email, 'UTF8')), 'hex')
$$;

-- Papers and ranking --------------------------------------------------------------------------

-- Title, keywords and abstract, stemmed, weighted so a title match counts most. papers.search is
-- stored from it: a new body needs a migration that recomputes the column.
CREATE OR REPLACE FUNCTION paperboy_paper_search(title text, keywords text[], abstract text)
RETURNS tsvector LANGUAGE sql IMMUTABLE AS $$
  SELECT setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') ||
         setweight(to_tsvector('english'::regconfig, coalesce(array_to_string(keywords, ' '), '')), 'B') ||
         setweight(to_tsvector('english'::regconfig, coalesce(abstract, '')), 'C')
$$;

-- Any of several text-search queries as one (q1 | q2 | ...), so a feed's topics are parsed once
-- per request rather than once per paper.
CREATE OR REPLACE AGGREGATE paperboy_any_tsquery(tsquery) (SFUNC = tsquery_or, STYPE = tsquery);

-- The ranked list of each distinct topic set among `subscribers`: the papers matching any of its
-- topics (with which ones), best first, then the trending papers that match none of them, as two
-- parallel arrays; at most `per_list` of each, far above what a digest holds. The lists depend
-- only on the papers and the window, so a planning run ranks each topic set once and keeps the
-- list in ranked_lists for its later batches (migration 010).
CREATE OR REPLACE FUNCTION paperboy_lists_for(subscribers bigint[], since timestamptz, per_list integer DEFAULT 200)
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

-- The papers each of `subscribers` gets next: never one sent to them before, only papers that
-- became news since `since`; those matching their topics first, then the trending list, each most
-- trending first; at most their chosen count; with the reason each is there. It picks for a whole
-- planning batch at once, from the lists planning run `run` remembered, computing only those it
-- has not (all of them without a run).
CREATE OR REPLACE FUNCTION paperboy_pick_for(subscribers bigint[], since timestamptz, per_list integer DEFAULT 200, run uuid DEFAULT NULL)
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

-- Deleting ------------------------------------------------------------------------------------

-- delivery_papers has no foreign keys (migration 011): these statement-level triggers do what
-- their cascades did, once per statement and set-based. Erasing a subscriber (through deliveries)
-- or deleting a delivery drops its papers; deleting papers drops them from the record of what was
-- sent.
CREATE OR REPLACE FUNCTION paperboy_drop_papers_of_deleted_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM delivery_papers dp USING gone WHERE dp.delivery_id = gone.id;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION paperboy_drop_picks_of_deleted_papers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM delivery_papers dp USING gone WHERE dp.paper_id = gone.id;
  RETURN NULL;
END $$;
