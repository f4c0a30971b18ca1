-- What the retention run (services/ops/retention.ts) looks up every day, found without reading
-- what earlier runs already dealt with.

-- Signups never confirmed are deleted a while after their confirmation link expired: the pending
-- rows, oldest first, and nothing else of the subscribers table.
CREATE INDEX subscribers_pending_created_idx ON subscribers (created_at) WHERE status = 'pending';

-- Replies to failed confirmation mails are cleared after a while: the few rows that hold one (a
-- cleared row leaves the index).
CREATE INDEX subscribers_confirm_error_idx ON subscribers (id) WHERE confirm_last_error IS NOT NULL;

-- How far a walk through a table that only grows has got, so each run starts where the last one
-- stopped: deliveries are cleared of their SMTP replies in id order (ids follow planning time), and
-- an index of every reply kept would cost each recorded send a write.
CREATE TABLE retention_progress (
  task      text PRIMARY KEY,
  after_id  bigint NOT NULL
);
