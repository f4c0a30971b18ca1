-- What operators read: reports over several tables for /metrics and the status page at /admin,
-- written by the other domains. Read only.

-- name: ping
-- Whether PostgreSQL answers (/readyz, `paperboy check`).
SELECT 1;

-- name: count-by-status
-- Subscribers by status, counted: read while the table is small.
SELECT status, count(*)::integer AS n FROM subscribers GROUP BY status;

-- name: count-given-up-confirmations
-- Signups whose confirmation Paperboy gave up (refused, address gone, too many failed rounds).
SELECT count(*)::integer AS n FROM subscribers WHERE confirm_given_up_at IS NOT NULL;

-- name: estimated-rows
-- PostgreSQL's estimate of the rows of each table named in $1, from its last ANALYZE or VACUUM
-- (-1 before the first): a catalog lookup, whatever the table's size.
SELECT c.relname AS name, c.reltuples::float8 AS n
  FROM unnest($1::text[]) AS t
  JOIN pg_class c ON c.oid = to_regclass(t);

-- name: estimated-statuses
-- Rows of table $1 by status, estimated from its statistics: the table's row estimate times each
-- status's share of ANALYZE's sample (30,000 rows by default). A catalog lookup; a status too rare
-- for the sample to hold twice is missing.
SELECT v.status, round(greatest(c.reltuples, 0) * v.share)::float8 AS n
  FROM pg_class c
  JOIN pg_stats s ON s.schemaname = current_schema() AND s.tablename = c.relname AND s.attname = 'status'
  CROSS JOIN LATERAL unnest(s.most_common_vals::text::text[], s.most_common_freqs) AS v (status, share)
 WHERE c.oid = to_regclass($1);

-- name: deliveries-by-status
-- Every delivery by status, counted: read while the table is small.
SELECT status, count(*)::float8 AS n FROM deliveries GROUP BY status;

-- name: deliveries-owed
-- Deliveries still owed (queued, sending), counted through their partial index: as many as are in
-- flight, however many were ever sent.
SELECT status, count(*)::float8 AS n FROM deliveries WHERE status IN ('queued', 'sending') GROUP BY status;

-- name: send-latency
-- Claim to SMTP acceptance of digests sent in the last hour, among the latest $1 deliveries planned
-- (a range of the primary key: the same work whatever the table's size). Those delivered without a
-- mail (to feed-only readers: no message id) met no SMTP server and are left out.
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - claimed_at)) AS p50,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - claimed_at)) AS p99
  FROM deliveries
 WHERE id > (SELECT coalesce(max(id), 0) FROM deliveries) - $1
   AND status = 'sent' AND message_id IS NOT NULL AND sent_at > now() - interval '1 hour';


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
