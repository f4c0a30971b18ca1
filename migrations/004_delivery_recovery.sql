-- What a delivery needs to be recovered without Redis: when it was due, and when it may next be tried.

ALTER TABLE deliveries
  -- The subscriber's scheduled time this digest answers (their next_send_at when planned).
  ADD COLUMN due_at           timestamptz,
  -- A temporary failure waits for this before any worker or the sweeper tries again.
  ADD COLUMN next_attempt_at  timestamptz;

UPDATE deliveries SET due_at = planned_at WHERE due_at IS NULL;
ALTER TABLE deliveries ALTER COLUMN due_at SET NOT NULL;

-- A spam complaint reported by the mail provider suppresses an address too.
ALTER TABLE suppressions DROP CONSTRAINT suppressions_reason_check;
ALTER TABLE suppressions ADD CONSTRAINT suppressions_reason_check CHECK (reason IN ('erased', 'bounced', 'complaint'));

-- The latest instant at or before `at` when a subscriber's digest was scheduled: after downtime,
-- the digest a planner owes is this one (today's), not the first one missed.
CREATE FUNCTION paperboy_last_due_at(at timestamptz, tz text, send_hour integer, frequency text, weekday integer)
RETURNS timestamptz LANGUAGE sql STABLE STRICT AS $$
  SELECT max(due)
  FROM (
    SELECT (day + make_interval(hours => send_hour)) AT TIME ZONE tz AS due
    FROM generate_series(((at AT TIME ZONE tz)::date - CASE WHEN frequency = 'daily' THEN 1 ELSE 7 END)::timestamp,
                         (at AT TIME ZONE tz)::date::timestamp, interval '1 day') AS day
    WHERE frequency = 'daily' OR extract(isodow FROM day) = weekday
  ) candidates
  WHERE due <= at
$$;
