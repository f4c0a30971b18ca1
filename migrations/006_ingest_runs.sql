-- One row per paper source read, by hand or by the scheduled ingest: what the operator's status
-- page shows. Two sources read hourly add about 17,500 rows a year.
CREATE TABLE ingest_runs (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source       text NOT NULL,
  -- The path or URL read ({date} already filled in).
  location     text NOT NULL,
  started_at   timestamptz NOT NULL,
  finished_at  timestamptz NOT NULL,
  status       text NOT NULL CHECK (status IN ('ok', 'failed')),
  -- The counts of the run's report; NULL when it failed before merging anything.
  entries      integer,
  new          integer,
  updated      integer,
  unchanged    integer,
  skipped      integer,
  -- Why a failed run failed.
  error        text,
  CHECK ((status = 'failed') = (error IS NOT NULL))
);
CREATE INDEX ingest_runs_started_idx ON ingest_runs (started_at DESC, id DESC);
