-- A signup's confirmation mail is owed once: which job carries it, how its tries went, and when
-- Paperboy stopped trying, so the sweeper neither sends a second one while the first waits in a
-- slow queue nor retries forever one the server refused.

ALTER TABLE subscribers
  -- The BullMQ job that carries the confirmation, and when it was queued (or last seen waiting in
  -- the queue by the sweeper): the sweeper takes a row again only once that job is gone.
  ADD COLUMN confirm_job          text,
  ADD COLUMN confirm_queued_at    timestamptz,
  -- Rounds (a job's tries) that ended on a failure of the message; relay failures are not counted.
  ADD COLUMN confirm_attempts     integer NOT NULL DEFAULT 0,
  -- Set when no confirmation will be sent for this signup (refused, address gone, too many rounds).
  ADD COLUMN confirm_given_up_at  timestamptz,
  -- The SMTP reply (or error) of the last failed try.
  ADD COLUMN confirm_last_error   text;

-- Confirmations owed before this migration: treated as queued when last written, as the sweeper
-- treated them until now.
UPDATE subscribers SET confirm_queued_at = updated_at
 WHERE status = 'pending' AND confirm_sent_at IS NULL;

-- The sweeper walks owed confirmations from the longest untouched; given-up and sent ones are not
-- in the index, however many there are.
CREATE INDEX subscribers_confirm_owed_idx ON subscribers (confirm_queued_at NULLS FIRST, id)
 WHERE status = 'pending' AND confirm_sent_at IS NULL AND confirm_given_up_at IS NULL;
