-- What the operator's status page (/admin) reads: reports over several tables, written elsewhere.

-- name: digest-days
-- The last $1 days that had digests since $2, newest first: every delivery planned for the day
-- (due) and how many of them are in each state; still owed = queued or being sent. The BRIN index
-- on digest_date keeps this to the recent part of the table.
SELECT digest_date AS day,
       count(*)::integer AS due,
       count(*) FILTER (WHERE status = 'sent')::integer AS sent,
       count(*) FILTER (WHERE status = 'failed')::integer AS failed,
       count(*) FILTER (WHERE status = 'bounced')::integer AS bounced,
       count(*) FILTER (WHERE status = 'skipped')::integer AS skipped,
       count(*) FILTER (WHERE status IN ('queued', 'sending'))::integer AS owed
  FROM deliveries
 WHERE digest_date >= $2::date
 GROUP BY digest_date
 ORDER BY digest_date DESC
 LIMIT $1;

-- name: recent-ingest-runs
-- The last $1 reads of paper sources, newest first.
SELECT source, location, started_at, finished_at, status, entries, new, updated, unchanged, skipped, error
  FROM ingest_runs
 ORDER BY started_at DESC, id DESC
 LIMIT $1;

-- name: recent-suppressions
-- The newest $1 suppressed addresses (only their hash is stored: its first 12 hex digits are
-- enough to tell entries apart), with how many there are in all.
SELECT left(email_hash, 12) AS hash_prefix, reason, created_at, count(*) OVER ()::integer AS total
  FROM suppressions
 ORDER BY created_at DESC, email_hash
 LIMIT $1;
