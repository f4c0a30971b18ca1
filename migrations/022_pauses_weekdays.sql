-- Every pause a subscriber took, so their history shows the days a digest was not planned because
-- of it (the planner claims active subscribers only and records nothing for a paused one).
-- `subscribers.paused_at` holds only the current pause and is cleared on resuming.
CREATE TABLE subscriber_pauses (
  subscriber_id bigint NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
  paused_at     timestamptz NOT NULL,
  -- When the pause ended (resumed, unsubscribed, bounced); NULL while it lasts.
  ended_at      timestamptz,
  PRIMARY KEY (subscriber_id, paused_at)
);

INSERT INTO subscriber_pauses (subscriber_id, paused_at)
SELECT id, paused_at FROM subscribers WHERE status = 'paused' AND paused_at IS NOT NULL;

-- The "weekdays" schedule (Monday to Friday): the schedule functions in functions.sql read it.
ALTER TABLE subscribers DROP CONSTRAINT subscribers_frequency_check;
ALTER TABLE subscribers ADD CONSTRAINT subscribers_frequency_check CHECK (frequency IN ('daily', 'weekdays', 'weekly'));
