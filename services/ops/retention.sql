-- name: delete-expired-signups
-- Up to $2 signups never confirmed whose last signup, confirmation sent or given up is older than
-- $1: their link expired a while ago, so nobody can confirm them any more, and signing up again
-- starts afresh. Never a subscriber that was ever confirmed, nor a suppression. Rows locked just
-- now (a signup for the same address) are left to the next run.
DELETE FROM subscribers
 WHERE id IN (SELECT id FROM subscribers
               WHERE status = 'pending' AND confirmed_at IS NULL AND created_at < $1
                 AND greatest(created_at, confirm_queued_at, confirm_sent_at, confirm_given_up_at) < $1
               ORDER BY created_at
               LIMIT $2
                 FOR UPDATE SKIP LOCKED);

-- name: clear-confirmation-replies
-- Up to $2 replies to failed confirmation mails whose last round is older than $1 are cleared; the
-- subscriber's status and its suppression (with the reply that caused it) say what came of them.
UPDATE subscribers SET confirm_last_error = NULL
 WHERE id IN (SELECT id FROM subscribers
               WHERE confirm_last_error IS NOT NULL
                 AND greatest(created_at, confirm_queued_at, confirm_given_up_at) < $1
               ORDER BY id
               LIMIT $2
                 FOR UPDATE SKIP LOCKED);

-- name: clear-delivery-replies
-- The next $2 deliveries after where this walk stopped last: of the run of them planned before $1,
-- settled ones lose the server's replies (smtp_response, and last_error where it holds the reply
-- that failed or bounced it; a skipped delivery's last_error is Paperboy's own reason and stays).
-- The status keeps what came of each. The walk moves on to the end of that run; the first delivery
-- planned since $1 ends it until a later run. Answers how many deliveries it walked and cleared.
WITH start AS (
  SELECT coalesce((SELECT after_id FROM retention_progress WHERE task = 'delivery-replies'), 0) AS after_id
), chunk AS (
  SELECT d.id, d.planned_at < $1 AS old
    FROM deliveries d, start
   WHERE d.id > start.after_id
   ORDER BY d.id
   LIMIT $2
), walked AS (
  SELECT id FROM chunk
   WHERE id < coalesce((SELECT min(id) FROM chunk WHERE NOT old), 9223372036854775807)
), cleared AS (
  UPDATE deliveries d
     SET smtp_response = NULL,
         last_error = CASE WHEN d.status IN ('failed', 'bounced') THEN NULL ELSE d.last_error END
    FROM walked w
   WHERE d.id = w.id AND d.status NOT IN ('queued', 'sending')
     AND (d.smtp_response IS NOT NULL OR (d.status IN ('failed', 'bounced') AND d.last_error IS NOT NULL))
  RETURNING 1
), progress AS (
  INSERT INTO retention_progress (task, after_id)
  SELECT 'delivery-replies', max(id) FROM walked HAVING count(*) > 0
  ON CONFLICT (task) DO UPDATE SET after_id = greatest(retention_progress.after_id, EXCLUDED.after_id)
)
SELECT (SELECT count(*) FROM walked)::integer AS walked, (SELECT count(*) FROM cleared)::integer AS cleared;

-- name: delete-old-observations
-- Walks up to $5 observations older than $1 after the key ($2, $3, $4), in primary-key order, and
-- deletes those a later observation of the same paper, also older than $1, supersedes: each paper
-- keeps every observation since $1 and the latest before it, the baseline its velocity is measured
-- from (ranking.sql reads the latest observation a day back, and the first one only when there is
-- none that old). Answers how many it walked and deleted, and the key of the last one walked (its
-- time as text: a JavaScript Date would drop the microseconds).
WITH walked AS (
  SELECT paper_id, observed_at, source FROM paper_observations
   WHERE (paper_id, observed_at, source) > ($2::bigint, $3::timestamptz, $4::text) AND observed_at < $1
   ORDER BY paper_id, observed_at, source
   LIMIT $5
), gone AS (
  DELETE FROM paper_observations o
   USING walked w
   WHERE (o.paper_id, o.observed_at, o.source) = (w.paper_id, w.observed_at, w.source)
     AND EXISTS (SELECT 1 FROM paper_observations n
                  WHERE n.paper_id = w.paper_id AND n.observed_at > w.observed_at AND n.observed_at < $1)
  RETURNING 1
)
SELECT (SELECT count(*) FROM walked)::integer AS walked, (SELECT count(*) FROM gone)::integer AS deleted,
       last.paper_id, last.observed_at::text AS observed_at, last.source
  FROM (SELECT 1) one
  LEFT JOIN LATERAL (SELECT * FROM walked ORDER BY paper_id DESC, observed_at DESC, source DESC LIMIT 1) last ON true;

-- name: delete-old-ingest-runs
-- Up to $2 reads of paper sources started before $1, except the newest 20 (what /admin lists), so
-- the last reads stay visible however long ago they were.
DELETE FROM ingest_runs
 WHERE id IN (SELECT id FROM ingest_runs
               WHERE started_at < $1
                 AND id NOT IN (SELECT id FROM ingest_runs ORDER BY started_at DESC, id DESC LIMIT 20)
               ORDER BY started_at
               LIMIT $2);
