-- name: claim-due-subscribers
-- Locks a batch of active subscribers whose digest is due at $1 (skipping rows another planner
-- holds), moves each one's next_send_at past $1, and returns when their digest was due and the
-- local day it belongs to. After downtime a subscriber is due once: due_at is the latest
-- scheduled time, not the first one missed, so the maximum age is measured from it. The day is
-- that of due_at, not of $1: a digest due at 23:00 and planned after local midnight is still
-- that evening's, and the next day's 23:00 digest is a day of its own.
-- $3, $4: the (next_send_at, id) the previous batch of this run ended at, or NULL.
WITH due AS (
  SELECT id, next_send_at FROM subscribers
   WHERE status = 'active' AND next_send_at <= $1
     AND ($3::timestamptz IS NULL OR (next_send_at, id) > ($3::timestamptz, $4::bigint))
   ORDER BY next_send_at, id
   LIMIT $2
   FOR UPDATE SKIP LOCKED
)
UPDATE subscribers s
   SET next_send_at = paperboy_next_send_at($1, s.timezone, s.send_hour, s.frequency, s.send_weekday)
  FROM due
 WHERE s.id = due.id
RETURNING s.id, due.next_send_at AS was_due,
          greatest(due.next_send_at,
                   paperboy_last_due_at($1, s.timezone, s.send_hour, s.frequency, s.send_weekday)) AS due_at,
          (greatest(due.next_send_at,
                    paperboy_last_due_at($1, s.timezone, s.send_hour, s.frequency, s.send_weekday))
             AT TIME ZONE s.timezone)::date AS digest_date;

-- name: count-due-subscribers
-- How many active subscribers are due at $1: the total a `digest run` shows its progress against.
-- It walks the same partial index as the claim (subscribers_due_key_idx), not the whole table.
SELECT count(*)::integer AS n FROM subscribers WHERE status = 'active' AND next_send_at <= $1;

-- name: plan-deliveries
-- Records a batch's digests from one record $1: `due`, the claimed subscribers as
-- [{id, day, due}] (local day, due at); `since`, where papers count as news; `runId`, the planning
-- run whose remembered lists paperboy_pick_for may use (null: none); `at` and `maxAgeSeconds`;
-- `personal`, the ids of subscribers the planner picked for itself (services/digests/personal.ts),
-- and `picks`, their picks as [{subscriber_id, paper_id, place, reason}].
-- One delivery per (subscriber, local day) with the papers paperboy_pick_for chooses for it. The
-- papers are chosen first, so each delivery is written once, with its final status and paper count:
-- - a day already planned is not planned again;
-- - one due longer ago than the maximum age (`maxAgeSeconds` before `at`) is skipped, not sent late;
-- - one with no new papers is skipped, not mailed empty; unless its reader asked to be told
--   (nothing_new_note), reads by mail, and was not told in the 6 days before: then it is queued
--   as a note (kind 'nothing_new'), sent by the same engine as a digest.
WITH due AS (
  SELECT t.id, t.day, t.due,
         t.due < ($1::jsonb ->> 'at')::timestamptz - make_interval(secs => ($1::jsonb ->> 'maxAgeSeconds')::float8) AS late,
         s.nothing_new_note AND s.delivery <> 'feed'
           AND NOT EXISTS (SELECT 1 FROM deliveries n
                            WHERE n.subscriber_id = t.id AND n.kind = 'nothing_new'
                              AND n.status IN ('queued', 'sending', 'sent') AND n.digest_date > t.day - 7) AS tell
    FROM jsonb_to_recordset($1::jsonb -> 'due') AS t (id bigint, day date, due timestamptz)
    JOIN subscribers s ON s.id = t.id
),
personal AS (
  SELECT (x #>> '{}')::bigint AS id FROM jsonb_array_elements($1::jsonb -> 'personal') AS x
),
picks AS MATERIALIZED (
  SELECT * FROM paperboy_pick_for(ARRAY(SELECT id FROM due WHERE NOT late AND id NOT IN (SELECT id FROM personal)),
                                  ($1::jsonb ->> 'since')::timestamptz, 200, ($1::jsonb ->> 'runId')::uuid)
  UNION ALL
  SELECT g.subscriber_id, g.paper_id, g.place, g.reason
    FROM jsonb_to_recordset($1::jsonb -> 'picks') AS g (subscriber_id bigint, paper_id bigint, place bigint, reason text)
   WHERE g.subscriber_id IN (SELECT id FROM due WHERE NOT late)
),
counts AS (
  SELECT subscriber_id, count(*)::integer AS n FROM picks GROUP BY subscriber_id
),
planned AS (
  INSERT INTO deliveries (subscriber_id, digest_date, due_at, paper_count, status, last_error, kind)
  SELECT d.id, d.day, d.due, coalesce(c.n, 0),
         CASE WHEN d.late OR (c.n IS NULL AND NOT d.tell) THEN 'skipped' ELSE 'queued' END,
         CASE WHEN d.late THEN 'too late: due at ' || d.due WHEN c.n IS NULL THEN 'no new papers' END,
         CASE WHEN NOT d.late AND c.n IS NULL AND d.tell THEN 'nothing_new' ELSE 'digest' END
    FROM due d LEFT JOIN counts c ON c.subscriber_id = d.id
  ON CONFLICT (subscriber_id, digest_date) DO NOTHING
  RETURNING id, subscriber_id, status
),
recorded AS (
  INSERT INTO delivery_papers (delivery_id, subscriber_id, paper_id, position, reason)
  SELECT pl.id, pk.subscriber_id, pk.paper_id, pk.place, pk.reason
    FROM picks pk JOIN planned pl ON pl.subscriber_id = pk.subscriber_id
   WHERE pl.status = 'queued'
)
SELECT id, status FROM planned;

-- name: load-deliveries
-- What rendering needs for each delivery of $1: what it is (a digest, or a note that there was
-- nothing new, which has no papers), recipient, preferences, and its papers as ids and reasons in
-- order; only those still owed to an active subscriber, unless $2 (a digest's web version,
-- whatever its state). The papers themselves come from load-papers, once per batch: a batch's
-- digests share a few hundred papers between them.
SELECT d.id, d.kind, d.digest_date, d.attempts, s.id AS subscriber_id, s.email, s.frequency, s.send_hour,
       s.send_weekday, s.timezone, s.token_epoch, s.delivery, s.next_send_at,
       cardinality(s.topics) > 0 AS has_topics,
       coalesce(array_agg(dp.paper_id ORDER BY dp.position) FILTER (WHERE dp.paper_id IS NOT NULL), '{}') AS paper_ids,
       coalesce(array_agg(dp.position ORDER BY dp.position) FILTER (WHERE dp.paper_id IS NOT NULL), '{}') AS positions,
       coalesce(array_agg(dp.reason ORDER BY dp.position) FILTER (WHERE dp.paper_id IS NOT NULL), '{}') AS reasons
  FROM deliveries d
  JOIN subscribers s ON s.id = d.subscriber_id
  LEFT JOIN delivery_papers dp ON dp.delivery_id = d.id
 WHERE d.id = ANY($1::bigint[]) AND ($2 OR (d.status IN ('queued', 'sending') AND s.status = 'active'))
 GROUP BY d.id, s.id
-- A digest whose papers are all gone (deleted since) has nothing left to send or show.
HAVING d.kind = 'nothing_new' OR count(dp.paper_id) > 0
 ORDER BY d.id;

-- name: load-papers
-- The papers of $1, as a digest shows them (PaperFacts in services/papers/repository.ts); `key` is
-- the id as text, as the bigint arrays of load-deliveries come.
SELECT id::text AS key, id, title, abstract, arxiv_id, authors, organization, ai_summary,
       upvotes, comments, github_stars, github_repo, project_page
  FROM papers WHERE id = ANY($1::bigint[]);

-- name: load-citations
-- The papers of delivery $1, in the digest's order, as a citation needs them (its BibTeX): the
-- year is that of publication, or of when Paperboy first saw the paper.
SELECT p.id, p.title, p.authors, p.arxiv_id, p.categories,
       extract(year FROM coalesce(p.published_at, p.first_seen_at))::integer AS year
  FROM delivery_papers dp JOIN papers p ON p.id = dp.paper_id
 WHERE dp.delivery_id = $1
 ORDER BY dp.position;

-- name: claim-deliveries
-- Takes a few deliveries of $1 for sending, right before their messages go out: those queued, or
-- left in `sending` longer than the lease ($2 seconds) by a worker that died; only while their
-- subscriber is still active. A handful per statement rather than one: each claim is a commit.
-- The claim's token $3 fences it: only statements carrying that token may settle these rows, so a
-- worker that stalls past the lease cannot overwrite what the next holder did.
UPDATE deliveries d
   SET status = 'sending', attempts = d.attempts + 1, claimed_at = now(), next_attempt_at = NULL,
       claim_token = $3
  FROM subscribers s
 WHERE d.id = ANY($1::bigint[]) AND s.id = d.subscriber_id AND s.status = 'active'
   AND (d.status = 'queued' OR (d.status = 'sending' AND d.claimed_at < now() - make_interval(secs => $2)))
RETURNING d.id, d.attempts;

-- name: release-deliveries
-- Claimed deliveries a stopping worker did not send go back to the queue, as if never taken; only
-- those its claim $2 still holds.
UPDATE deliveries SET status = 'queued', attempts = attempts - 1, claimed_at = NULL, claim_token = NULL
 WHERE id = ANY($1::bigint[]) AND status = 'sending' AND claim_token = $2;

-- name: skip-stale-deliveries
-- Owed deliveries due longer ago than the maximum age ($2 seconds before $3) are skipped, not sent late.
UPDATE deliveries
   SET status = 'skipped', last_error = 'too late: due at ' || due_at
 WHERE id = ANY($1::bigint[]) AND status = 'queued' AND due_at < $3::timestamptz - make_interval(secs => $2);

-- name: settle-left-deliveries
-- Deliveries still owed to a subscriber who is no longer active (unsubscribed, paused or bounced
-- before it went out) are settled as skipped, with why, instead of staying owed to nobody and
-- being re-enqueued by every sweep: queued ones, and those a worker that died left in `sending`
-- past the lease ($2 seconds). $1: the deliveries to look at, or NULL for all of them.
UPDATE deliveries d
   SET status = 'skipped', last_error = 'not sent: the subscriber is ' || s.status, claim_token = NULL
  FROM subscribers s
 WHERE s.id = d.subscriber_id AND s.status <> 'active'
   AND d.status IN ('queued', 'sending')
   AND ($1::bigint[] IS NULL OR d.id = ANY($1::bigint[]))
   AND (d.status = 'queued' OR d.claimed_at < now() - make_interval(secs => $2));

-- name: find-owed-deliveries
-- Deliveries PostgreSQL says are owed but no worker has touched for a while: queued (and past any
-- retry wait) for more than $1 seconds, or stuck in `sending` past the lease ($2 seconds).
SELECT id FROM deliveries
 WHERE (status = 'queued' AND planned_at < now() - make_interval(secs => $1)
        AND (next_attempt_at IS NULL OR next_attempt_at < now() - make_interval(secs => $1)))
    OR (status = 'sending' AND claimed_at < now() - make_interval(secs => $2))
 ORDER BY id
 LIMIT $3;

-- name: mark-sent
-- The SMTP server accepted these messages: $1 lists them as [{id, message_id, response,
-- claim_token}], each with the claim that sent it. Sends finishing together are recorded in one
-- statement, one commit. A digest read only in its reader's feed is recorded here too, with no
-- message id or response: it was delivered without a mail.
UPDATE deliveries d
   SET status = 'sent', sent_at = now(), message_id = t.message_id, smtp_response = t.response, last_error = NULL
  FROM jsonb_to_recordset($1::jsonb) AS t (id bigint, message_id text, response text, claim_token uuid)
 WHERE d.id = t.id AND d.status = 'sending' AND d.claim_token = t.claim_token;

-- name: mark-deferred
-- A temporary failure (4xx, connection): back to queued until $3 for the next attempt, or failed
-- when attempts are exhausted ($3 NULL). Only by the claim $4 that holds it.
UPDATE deliveries
   SET status = CASE WHEN $3::timestamptz IS NULL THEN 'failed' ELSE 'queued' END, last_error = $2,
       next_attempt_at = $3
 WHERE id = $1 AND status = 'sending' AND claim_token = $4;

-- name: mark-relay-down
-- The relay failed (connection, AUTH, sender refused): nothing is known about this message, so the
-- attempt is not counted against it; back to queued until $3, the reply kept in last_error. Only by
-- the claim $4 that holds it.
UPDATE deliveries
   SET status = 'queued', attempts = attempts - 1, relay_failures = relay_failures + 1, last_error = $2,
       next_attempt_at = $3
 WHERE id = $1 AND status = 'sending' AND claim_token = $4;

-- name: mark-refused
-- The server refused this message for what it is (content, size, policy), not for its address:
-- the digest is given up with the reply kept; the subscriber stays and gets the next one. Only by
-- the claim $3 that holds it.
UPDATE deliveries SET status = 'failed', smtp_response = $2, last_error = $2, next_attempt_at = NULL
 WHERE id = $1 AND status = 'sending' AND claim_token = $3;

-- name: mark-bounced
-- The recipient's address does not work (RCPT 5xx, or a mailbox verdict at DATA): the delivery
-- is bounced, the address gets no more mail and is suppressed, so a later signup does not mail it
-- again either. Only by the claim $3 that holds it.
WITH d AS (
  UPDATE deliveries SET status = 'bounced', smtp_response = $2, last_error = $2
   WHERE id = $1 AND status = 'sending' AND claim_token = $3
  RETURNING subscriber_id
), s AS (
  UPDATE subscribers s SET status = 'bounced', next_send_at = NULL, updated_at = now()
    FROM d WHERE s.id = d.subscriber_id
  RETURNING s.email
)
INSERT INTO suppressions (email_hash, reason, detail)
SELECT paperboy_email_hash(email), 'bounced', $2 FROM s
ON CONFLICT (email_hash) DO UPDATE SET reason = 'bounced', detail = EXCLUDED.detail, created_at = now();

-- name: count-sent-papers
-- How many papers a subscriber has been sent, ever.
SELECT count(*)::integer AS n FROM delivery_papers WHERE subscriber_id = $1;
