-- What is stored about subscribers and suppressed addresses. {{preference-columns}} stands for the
-- columns a subscriber's preferences are stored in, listed once where the preferences are defined
-- (services/subscribers/preferences.ts); a record of them travels as one jsonb parameter, read with
-- jsonb_populate_record, so no statement here names a preference.

-- name: upsert-signups
-- Records a batch of signups in one statement, whatever each address's state (so every answer
-- takes the same path). A signup never changes an existing subscriber's preferences or status,
-- since anyone can sign up any address: a new address becomes pending with the given preferences;
-- a pending one keeps the preferences it has; an unsubscribed one stays unsubscribed, the given
-- preferences kept aside (requested_prefs; the first request's, until confirmed) for its owner to
-- confirm; active, paused and bounced ones are left as they are. $1 is a JSON array of records,
-- one per address: its email and its preference columns by name (an address twice in one
-- statement is an error). Rows are written in address order, so two batches sharing addresses
-- lock them in the same order. A pending or unsubscribed address owes a new confirmation, carried
-- by job $2 queued at $3: its earlier one's record (sent, tries, given up) starts over. Returns
-- every address's subscriber id.
WITH input AS (
  SELECT i.*, e - 'email' AS prefs
    FROM jsonb_array_elements($1::jsonb) AS e
   CROSS JOIN LATERAL jsonb_populate_record(NULL::subscribers, e) AS i
),
written AS (
  INSERT INTO subscribers AS s (email, {{preference-columns}}, confirm_job, confirm_queued_at)
  SELECT email, {{preference-columns}}, $2, $3::timestamptz
    FROM input ORDER BY email
  ON CONFLICT (email) DO UPDATE
     SET requested_prefs = CASE WHEN s.status = 'unsubscribed'
                                THEN coalesce(s.requested_prefs,
                                              (SELECT i.prefs FROM input i WHERE i.email = EXCLUDED.email)) END,
         confirm_job = EXCLUDED.confirm_job,
         confirm_queued_at = EXCLUDED.confirm_queued_at,
         confirm_sent_at = NULL,
         confirm_attempts = 0,
         confirm_given_up_at = NULL,
         confirm_last_error = NULL,
         updated_at = now()
   WHERE s.status IN ('pending', 'unsubscribed')
  RETURNING id, email
)
SELECT id, email FROM written
UNION ALL
-- Active, paused and bounced subscriptions, left as they were (the statement's snapshot sees them,
-- not the new rows): one index lookup per address the insert did not return. (Matching all of them at once with
-- `email = ANY (...)` grew slower with the table while other batches were being written.)
SELECT s.id, s.email
  FROM input i
  CROSS JOIN LATERAL (SELECT id, email FROM subscribers WHERE email = i.email) s
 WHERE NOT EXISTS (SELECT 1 FROM written w WHERE w.email = i.email);

-- name: find-by-email
-- One subscriber by normalised address.
SELECT id FROM subscribers WHERE email = $1;

-- name: find-by-id
-- One subscriber by id.
SELECT id, email, status, {{preference-columns}},
       next_send_at, confirm_sent_at, confirm_attempts, confirm_given_up_at, confirm_last_error,
       confirmed_at, unsubscribed_at, paused_at, created_at, updated_at, token_epoch,
       manage_link_requested_at, requested_prefs
  FROM subscribers WHERE id = $1;

-- name: suppression-of
-- Why an address is suppressed, if it is.
SELECT reason FROM suppressions WHERE email_hash = paperboy_email_hash($1);

-- name: mark-signup-mail-sent
-- Notes when the last confirmation mail went out.
UPDATE subscribers SET confirm_sent_at = $2 WHERE id = $1;

-- name: record-confirmation-failure
-- A try of subscriber $1's confirmation failed with $2 (the SMTP reply). When $3, the try ended a
-- round on a failure of the message (not of the relay, not of an outage): it counts, and the
-- round that reaches $4 gives the confirmation up at $5. Returns whether it is given up.
UPDATE subscribers
   SET confirm_last_error = $2,
       confirm_attempts = confirm_attempts + CASE WHEN $3 THEN 1 ELSE 0 END,
       confirm_given_up_at = CASE WHEN $3 AND confirm_attempts + 1 >= $4 THEN $5::timestamptz END
 WHERE id = $1 AND (status = 'pending' OR (status = 'unsubscribed' AND requested_prefs IS NOT NULL))
   AND confirm_sent_at IS NULL AND confirm_given_up_at IS NULL
RETURNING confirm_given_up_at IS NOT NULL AS given_up;

-- name: give-up-confirmation
-- No confirmation will be sent to subscriber $1 for this signup: the server refused it for good,
-- or the address is gone ($2 says which, with the reply). Recorded at $3; the sweeper leaves it,
-- and only a new signup tries again.
UPDATE subscribers
   SET confirm_last_error = $2, confirm_attempts = confirm_attempts + 1, confirm_given_up_at = $3
 WHERE id = $1 AND confirm_sent_at IS NULL AND confirm_given_up_at IS NULL;

-- name: activate
-- Confirms a pending subscription, or the return of one that left (with the preferences its
-- signup asked for), schedules its first digest after `$2`, and lifts a suppression left by an
-- earlier erasure: confirming is consent to mail again. An address that bounced or complained
-- stays suppressed and is not confirmed: a confirmation link may have been mailed before the
-- report, and only the operator lifts such a suppression.
WITH s AS (
  UPDATE subscribers
     SET status = 'active',
         confirmed_at = $2,
         ({{preference-columns}}, next_send_at) = (
           SELECT {{preference-columns}}, paperboy_next_send_at($2, p)
             FROM jsonb_populate_record(subscribers, coalesce(requested_prefs, '{}')) p),
         requested_prefs = NULL,
         paused_at = NULL,
         updated_at = now()
   WHERE id = $1 AND (status = 'pending' OR (status = 'unsubscribed' AND requested_prefs IS NOT NULL))
     AND NOT EXISTS (SELECT 1 FROM suppressions x
                      WHERE x.email_hash = paperboy_email_hash(subscribers.email) AND x.reason <> 'erased')
  RETURNING id, email
), lifted AS (
  DELETE FROM suppressions
   WHERE reason = 'erased' AND email_hash IN (SELECT paperboy_email_hash(email) FROM s)
)
SELECT id FROM s;

-- name: revoke-links
-- Signs out every preferences link and web version of subscriber $1 mailed so far: the link
-- epoch moves on, and links signed in an earlier one are refused. Returns the new epoch.
UPDATE subscribers SET token_epoch = token_epoch + 1, updated_at = now()
 WHERE id = $1
RETURNING token_epoch;

-- name: request-manage-link
-- Notes at $2 that subscriber $1 asked for a fresh preferences link by mail, unless one was asked
-- for less than $3 seconds before: returns the row only when a mail may go out.
UPDATE subscribers SET manage_link_requested_at = $2
 WHERE id = $1
   AND (manage_link_requested_at IS NULL
        OR manage_link_requested_at <= $2::timestamptz - make_interval(secs => $3))
RETURNING id;

-- name: update-preferences
-- Saves preferences $2 (a JSON record of the preference columns) at $3; an active subscriber's
-- next digest moves to the new schedule. Someone who left and has a return to confirm comes back
-- with these, not with what the signup asked for.
UPDATE subscribers s
   SET ({{preference-columns}}, next_send_at) = (
         SELECT {{preference-columns}}, CASE WHEN s.status = 'active' THEN paperboy_next_send_at($3, p) END
           FROM jsonb_populate_record(s, $2::jsonb) p),
       requested_prefs = CASE WHEN s.requested_prefs IS NOT NULL THEN $2::jsonb END,
       updated_at = now()
 WHERE s.id = $1 AND s.status <> 'bounced'
RETURNING s.id;

-- name: set-status
-- Moves a subscriber from one of the statuses in $3 to $2 at $4: pausing and leaving stop
-- digests at once, resuming schedules the next one after $4. A return a signup asked for is moot
-- once the owner acts through their own link: its confirmation no longer does anything. A pause
-- starts a row of subscriber_pauses, and leaving the pause (for any status) ends it.
WITH was AS (
  SELECT id, status FROM subscribers WHERE id = $1 AND status = ANY($3::text[]) FOR UPDATE
),
moved AS (
  UPDATE subscribers s
     SET status = $2,
         requested_prefs = NULL,
         next_send_at = CASE WHEN $2 = 'active' THEN paperboy_next_send_at($4, s) END,
         paused_at = CASE WHEN $2 = 'paused' THEN $4::timestamptz END,
         unsubscribed_at = CASE WHEN $2 = 'unsubscribed' THEN $4::timestamptz ELSE s.unsubscribed_at END,
         updated_at = now()
    FROM was
   WHERE s.id = was.id
  RETURNING s.id, was.status AS was
),
paused AS (
  INSERT INTO subscriber_pauses (subscriber_id, paused_at)
  SELECT id, $4 FROM moved WHERE $2 = 'paused' AND was <> 'paused'
  ON CONFLICT DO NOTHING
),
resumed AS (
  UPDATE subscriber_pauses p SET ended_at = $4
    FROM moved m
   WHERE p.subscriber_id = m.id AND p.ended_at IS NULL AND m.was = 'paused' AND $2 <> 'paused'
)
SELECT id FROM moved;

-- name: cancel-queued-deliveries
-- Digests planned but not yet sent to someone who paused or left are not sent.
UPDATE deliveries SET status = 'skipped', last_error = $2
 WHERE subscriber_id = $1 AND status = 'queued';

-- name: export-deliveries
-- Every digest (or note that there was nothing new) planned for a subscriber, with its papers, for their data export.
SELECT d.digest_date, d.kind, d.status, d.sent_at, d.message_id,
       coalesce(json_agg(json_build_object('position', dp.position, 'title', p.title, 'reason', dp.reason)
                         ORDER BY dp.position) FILTER (WHERE dp.paper_id IS NOT NULL), '[]') AS papers
  FROM deliveries d
  LEFT JOIN delivery_papers dp ON dp.delivery_id = d.id
  LEFT JOIN papers p ON p.id = dp.paper_id
 WHERE d.subscriber_id = $1
 GROUP BY d.id
 ORDER BY d.digest_date;

-- name: export-pauses
-- Every pause a subscriber took, for their data export.
SELECT paused_at, ended_at FROM subscriber_pauses WHERE subscriber_id = $1 ORDER BY paused_at;

-- name: feed-digests
-- The newest $2 digests sent to subscriber $1, each with its papers in order, for their private feed.
SELECT d.id, d.digest_date, d.sent_at,
       json_agg(json_build_object('id', p.id, 'title', p.title, 'arxiv_id', p.arxiv_id, 'abstract', p.abstract,
                                  'reason', dp.reason) ORDER BY dp.position) AS papers
  FROM (SELECT id, digest_date, sent_at FROM deliveries
         WHERE subscriber_id = $1 AND status = 'sent'
         ORDER BY digest_date DESC LIMIT $2) d
  JOIN delivery_papers dp ON dp.delivery_id = d.id
  JOIN papers p ON p.id = dp.paper_id
 GROUP BY d.id, d.digest_date, d.sent_at
 ORDER BY d.digest_date DESC;

-- name: history
-- The subscriber $1's digest days from local day $3 to local day $4 (their time zone), newest
-- first: every delivery planned for one (a digest, or a note that there was nothing new; `unmailed`:
-- delivered to a feed-only reader without a mail), with its web version's id, and the days their schedule
-- fell inside a pause (which the planner does not plan), as status 'paused'. $2: now, which ends
-- a pause still running. Paused days are reckoned with the subscriber's current schedule.
WITH s AS (
  SELECT id, timezone, send_hour, frequency, send_weekday FROM subscribers WHERE id = $1
),
planned AS (
  SELECT d.id, d.digest_date AS day, d.status, d.paper_count, d.last_error, d.due_at, d.sent_at, d.kind,
         d.status = 'sent' AND d.message_id IS NULL AS unmailed
    FROM deliveries d
   WHERE d.subscriber_id = $1 AND d.digest_date BETWEEN $3::date AND $4::date
),
paused AS (
  SELECT NULL::bigint AS id, g.day, 'paused' AS status, 0 AS paper_count, NULL::text AS last_error,
         (g.day + make_interval(hours => s.send_hour)) AT TIME ZONE s.timezone AS due_at, NULL::timestamptz AS sent_at,
         'digest' AS kind, false AS unmailed
    FROM s
   CROSS JOIN LATERAL (SELECT d::date AS day FROM generate_series($3::date, $4::date, interval '1 day') d) g
   WHERE CASE s.frequency
           WHEN 'daily' THEN true
           WHEN 'weekdays' THEN extract(isodow FROM g.day) <= 5
           ELSE extract(isodow FROM g.day) = s.send_weekday
         END
     AND NOT EXISTS (SELECT 1 FROM planned pl WHERE pl.day = g.day)
     AND EXISTS (
       SELECT 1 FROM subscriber_pauses p
        WHERE p.subscriber_id = s.id
          AND (g.day + make_interval(hours => s.send_hour)) AT TIME ZONE s.timezone >= p.paused_at
          AND (g.day + make_interval(hours => s.send_hour)) AT TIME ZONE s.timezone < coalesce(p.ended_at, $2::timestamptz))
)
SELECT * FROM planned
UNION ALL
SELECT * FROM paused
ORDER BY day DESC;

-- name: erase
-- Deletes a subscriber and everything about them (deliveries cascade), leaving only the hash
-- of their address as a suppression (an existing one, say for a bounce, is kept as it is).
WITH gone AS (
  DELETE FROM subscribers WHERE id = $1 RETURNING email
), suppressed AS (
  INSERT INTO suppressions (email_hash, reason)
  SELECT paperboy_email_hash(email), 'erased' FROM gone
  ON CONFLICT (email_hash) DO NOTHING
)
SELECT count(*)::integer AS erased FROM gone;

-- name: suppress-address
-- A bounce or complaint ($2) the mail provider reported later, or a refusal of a signup reply: the
-- subscriber (if any, still subscribed: one of the statuses $4) stops getting mail at once, bounced
-- or unsubscribed, and the address is suppressed with what caused it ($3). Returns 1 if a
-- subscriber matched.
WITH s AS (
  UPDATE subscribers
     SET status = CASE WHEN $2 = 'bounced' THEN 'bounced' ELSE 'unsubscribed' END,
         unsubscribed_at = CASE WHEN $2 = 'bounced' THEN unsubscribed_at ELSE now() END,
         next_send_at = NULL, updated_at = now()
   WHERE email = $1 AND status = ANY($4::text[])
  RETURNING id
), cancelled AS (
  UPDATE deliveries SET status = 'skipped', last_error = $2
   WHERE subscriber_id IN (SELECT id FROM s) AND status = 'queued'
), suppressed AS (
  INSERT INTO suppressions (email_hash, reason, detail) VALUES (paperboy_email_hash($1), $2, $3)
  ON CONFLICT (email_hash) DO UPDATE
     SET reason = CASE WHEN suppressions.reason = 'bounced' THEN 'bounced' ELSE EXCLUDED.reason END,
         detail = coalesce(EXCLUDED.detail, suppressions.detail)
)
SELECT count(*)::integer AS matched FROM s;

-- name: find-owed-confirmations
-- Up to $3 signups (pending, or asking to come back) whose confirmation is owed (not sent, not
-- given up) and was queued, or last seen waiting in the queue, more than $2 seconds before $1;
-- never queued first, then the longest untouched. Every row the sweeper looks at is touched, so rows it cannot deliver go to
-- the back and a new owed row is reached within (owed rows / $3) sweeps.
SELECT id, confirm_job FROM subscribers
 WHERE (status = 'pending' OR (status = 'unsubscribed' AND requested_prefs IS NOT NULL))
   AND confirm_sent_at IS NULL AND confirm_given_up_at IS NULL
   AND (confirm_queued_at IS NULL OR confirm_queued_at < $1::timestamptz - make_interval(secs => $2))
 ORDER BY confirm_queued_at NULLS FIRST, id
 LIMIT $3;

-- name: claim-owed-confirmations
-- Hands the confirmations of subscribers $1 to job $4 queued at $3, each only if it is still owed
-- and still names the job the sweeper found gone ($2; a new signup or another sweeper changes it).
-- Returns the ids handed over.
UPDATE subscribers s
   SET confirm_job = $4, confirm_queued_at = $3
  FROM unnest($1::bigint[], $2::text[]) AS seen (id, job)
 WHERE s.id = seen.id AND s.confirm_job IS NOT DISTINCT FROM seen.job
   AND (s.status = 'pending' OR (s.status = 'unsubscribed' AND s.requested_prefs IS NOT NULL))
   AND s.confirm_sent_at IS NULL AND s.confirm_given_up_at IS NULL
RETURNING s.id;

-- name: touch-queued-confirmations
-- The confirmations of subscribers $1 still wait in the queue at $2: looked at again only after
-- the sweeper's wait, behind the rows it has not looked at.
UPDATE subscribers SET confirm_queued_at = $2
 WHERE id = ANY($1::bigint[]) AND confirm_sent_at IS NULL
   AND (status = 'pending' OR (status = 'unsubscribed' AND requested_prefs IS NOT NULL));

-- name: list-suppressions
-- Suppressed addresses, newest first, optionally of one reason ($1) and since $2: the address
-- where a subscriber row still knows it (an erased one is only a hash), why, and what caused it.
SELECT x.email_hash, x.reason, x.detail, x.created_at, s.email, s.status
  FROM suppressions x
  LEFT JOIN subscribers s ON paperboy_email_hash(s.email) = x.email_hash
 WHERE ($1::text IS NULL OR x.reason = $1) AND ($2::timestamptz IS NULL OR x.created_at >= $2)
 ORDER BY x.created_at DESC
 LIMIT $3;

-- name: lift-suppressions
-- Lifts the suppressions of address $1, or of reason $2 since $3 (a relay's mistake): the entries
-- go, and a subscriber bounced by them receives mail again (active if confirmed, else pending)
-- from their next send time after $4; one never confirmed is owed their confirmation again, for the
-- sweeper to send. Complaints and erasures leave no one to resubscribe. Returns the addresses (or
-- hashes) lifted.
WITH lifted AS (
  DELETE FROM suppressions x
   WHERE ($1::text IS NOT NULL AND x.email_hash = paperboy_email_hash($1))
      OR ($1::text IS NULL AND x.reason = $2 AND ($3::timestamptz IS NULL OR x.created_at >= $3))
  RETURNING x.email_hash, x.reason
), restored AS (
  UPDATE subscribers s
     SET status = CASE WHEN s.confirmed_at IS NULL THEN 'pending' ELSE 'active' END,
         next_send_at = CASE WHEN s.confirmed_at IS NULL THEN NULL
                             ELSE paperboy_next_send_at($4, s) END,
         confirm_given_up_at = CASE WHEN s.confirmed_at IS NULL THEN NULL ELSE s.confirm_given_up_at END,
         confirm_attempts = CASE WHEN s.confirmed_at IS NULL THEN 0 ELSE s.confirm_attempts END,
         confirm_queued_at = CASE WHEN s.confirmed_at IS NULL THEN NULL ELSE s.confirm_queued_at END,
         updated_at = now()
    FROM lifted l
   WHERE l.reason = 'bounced' AND s.status = 'bounced' AND paperboy_email_hash(s.email) = l.email_hash
  RETURNING s.email, s.status
)
SELECT l.email_hash, l.reason, r.email, r.status
  FROM lifted l LEFT JOIN restored r ON paperboy_email_hash(r.email) = l.email_hash;
