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
