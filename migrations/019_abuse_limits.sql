-- A signup never changes an existing subscriber: anyone can type anyone's address. A signup for an
-- address that left asks to bring it back; the preferences it asked for wait here, apart from the
-- subscriber's own, until the owner confirms with the mailed link (then they apply) or acts
-- through their own link (then they are dropped). NULL: no return asked for. The keys are the
-- preference columns' names.
ALTER TABLE subscribers ADD COLUMN requested_prefs jsonb;

-- Such a return owes a confirmation like a pending signup does: the sweeper's index covers both.
DROP INDEX subscribers_confirm_owed_idx;
CREATE INDEX subscribers_confirm_owed_idx ON subscribers (confirm_queued_at NULLS FIRST, id)
 WHERE (status = 'pending' OR (status = 'unsubscribed' AND requested_prefs IS NOT NULL))
   AND confirm_sent_at IS NULL AND confirm_given_up_at IS NULL;

-- Any of several text-search queries as one (q1 | q2 | ...), so a feed's topics are parsed once
-- per request rather than once per paper.
CREATE AGGREGATE paperboy_any_tsquery(tsquery) (SFUNC = tsquery_or, STYPE = tsquery);
