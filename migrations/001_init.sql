-- Papers, subscribers and what was sent to whom. PostgreSQL is the source of truth;
-- Redis only carries work that can be rebuilt from these tables.

CREATE TABLE papers (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- Normalised title: the key that merges the same paper seen twice or from two sources.
  title_key      text NOT NULL UNIQUE,
  title          text NOT NULL,
  abstract       text NOT NULL DEFAULT '',
  arxiv_id       text UNIQUE,
  source         text NOT NULL,
  -- Position on the seed page (1 = top); the page's ranking is its only signal.
  seed_position  integer,
  trend_score    double precision NOT NULL DEFAULT 0,
  search         tsvector GENERATED ALWAYS AS (
                   setweight(to_tsvector('english', title), 'A') ||
                   setweight(to_tsvector('english', abstract), 'B')) STORED,
  first_seen_at  timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX papers_trend_idx ON papers (trend_score DESC, id);
CREATE INDEX papers_search_idx ON papers USING gin (search);

CREATE TABLE subscribers (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email            text NOT NULL UNIQUE,
  status           text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'active', 'unsubscribed', 'bounced')),
  timezone         text NOT NULL DEFAULT 'UTC',
  send_hour        smallint NOT NULL DEFAULT 8 CHECK (send_hour BETWEEN 0 AND 23),
  frequency        text NOT NULL DEFAULT 'daily' CHECK (frequency IN ('daily', 'weekly')),
  -- ISO weekday (1 = Monday) for weekly digests.
  send_weekday     smallint NOT NULL DEFAULT 1 CHECK (send_weekday BETWEEN 1 AND 7),
  max_papers       smallint NOT NULL DEFAULT 10 CHECK (max_papers BETWEEN 1 AND 25),
  topics           text[] NOT NULL DEFAULT '{}',
  -- Set while active: the instant the next digest is due.
  next_send_at     timestamptz,
  confirm_sent_at  timestamptz,
  confirmed_at     timestamptz,
  unsubscribed_at  timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
-- Planning walks due subscribers in (next_send_at, id) order from where its last batch ended.
CREATE INDEX subscribers_due_key_idx ON subscribers (next_send_at, id) WHERE status = 'active';

CREATE TABLE deliveries (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  subscriber_id  bigint NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
  -- The subscriber's local calendar day the digest is for: at most one digest per day.
  digest_date    date NOT NULL,
  status         text NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'bounced', 'skipped')),
  paper_count    integer NOT NULL DEFAULT 0,
  attempts       integer NOT NULL DEFAULT 0,
  message_id     text,
  smtp_response  text,
  last_error     text,
  planned_at     timestamptz NOT NULL DEFAULT now(),
  claimed_at     timestamptz,
  sent_at        timestamptz,
  UNIQUE (subscriber_id, digest_date)
);
CREATE INDEX deliveries_owed_idx ON deliveries (id) WHERE status IN ('queued', 'sending');

CREATE TABLE delivery_papers (
  delivery_id    bigint NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
  subscriber_id  bigint NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
  paper_id       bigint NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
  position       smallint NOT NULL,
  reason         text NOT NULL,
  PRIMARY KEY (delivery_id, position),
  -- Never the same paper twice to one subscriber, whatever the day.
  UNIQUE (subscriber_id, paper_id)
);

-- The first instant strictly after `after` at which a subscriber's digest is due: their chosen
-- local hour on each local day (daily) or on their weekday (weekly). One candidate per local day,
-- so a daylight-saving change yields one digest that day, never zero or two: a local time that
-- does not exist is read in the offset before the change (02:30 becomes 03:30), a repeated one
-- resolves to a single instant. A daily subscriber needs two candidate days, a weekly one eight.
CREATE FUNCTION paperboy_next_send_at(after timestamptz, tz text, send_hour integer, frequency text, weekday integer)
RETURNS timestamptz LANGUAGE sql STABLE STRICT AS $$
  SELECT min(due)
  FROM (
    SELECT (day + make_interval(hours => send_hour)) AT TIME ZONE tz AS due
    FROM generate_series((after AT TIME ZONE tz)::date::timestamp,
                         ((after AT TIME ZONE tz)::date + CASE WHEN frequency = 'daily' THEN 1 ELSE 7 END)::timestamp,
                         interval '1 day') AS day
    WHERE frequency = 'daily' OR extract(isodow FROM day) = weekday
  ) candidates
  WHERE due > after
$$;
