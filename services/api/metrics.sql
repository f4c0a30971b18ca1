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
-- (a range of the primary key: the same work whatever the table's size).
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - claimed_at)) AS p50,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - claimed_at)) AS p99
  FROM deliveries
 WHERE id > (SELECT coalesce(max(id), 0) FROM deliveries) - $1
   AND status = 'sent' AND sent_at > now() - interval '1 hour';
