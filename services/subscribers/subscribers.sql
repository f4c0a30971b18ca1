-- name: upsert-signup
-- Records a signup: new, pending, unsubscribed and bounced addresses become pending with the
-- given preferences; an active subscription is left untouched (no row returned).
INSERT INTO subscribers AS s (email, timezone, send_hour, frequency, send_weekday, max_papers, topics)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (email) DO UPDATE
   SET status = 'pending',
       timezone = EXCLUDED.timezone,
       send_hour = EXCLUDED.send_hour,
       frequency = EXCLUDED.frequency,
       send_weekday = EXCLUDED.send_weekday,
       max_papers = EXCLUDED.max_papers,
       topics = EXCLUDED.topics,
       next_send_at = NULL,
       updated_at = now()
 WHERE s.status <> 'active'
RETURNING id, status;

-- name: find-by-email
-- One subscriber by normalised address.
SELECT id, email, status FROM subscribers WHERE email = $1;

-- name: find-by-id
-- One subscriber by id.
SELECT id, email, status, timezone, send_hour, frequency, send_weekday, max_papers, topics,
       next_send_at, confirm_sent_at, confirmed_at
  FROM subscribers WHERE id = $1;

-- name: mark-confirmation-sent
-- Notes when the last confirmation mail went out.
UPDATE subscribers SET confirm_sent_at = $2 WHERE id = $1;

-- name: activate
-- Confirms a pending subscription and schedules its first digest after `$2`.
UPDATE subscribers
   SET status = 'active',
       confirmed_at = $2,
       next_send_at = paperboy_next_send_at($2, timezone, send_hour, frequency, send_weekday),
       updated_at = now()
 WHERE id = $1 AND status = 'pending'
RETURNING id, email, next_send_at;

-- name: unsubscribe
-- Stops all mail to a subscriber at once.
UPDATE subscribers
   SET status = 'unsubscribed', unsubscribed_at = $2, next_send_at = NULL, updated_at = now()
 WHERE id = $1 AND status IN ('pending', 'active')
RETURNING id;

-- name: cancel-queued-deliveries
-- Digests planned but not yet sent to someone who just left are not sent.
UPDATE deliveries SET status = 'skipped', last_error = $2
 WHERE subscriber_id = $1 AND status = 'queued';
