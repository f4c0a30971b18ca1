-- A reader's choices of how to read (issue #21):
-- - `delivery`: digests by email, only in their private feed (planned and recorded, no mail), or both;
-- - `nothing_new_note`: on a day with nothing new for them, a one-line note instead of silence,
--   at most once a week.
ALTER TABLE subscribers
  ADD COLUMN delivery text NOT NULL DEFAULT 'email' CHECK (delivery IN ('email', 'feed', 'both')),
  ADD COLUMN nothing_new_note boolean NOT NULL DEFAULT false;

-- What a delivery carries: a digest of papers, or the note that there was nothing new. The note
-- takes the day's row (one delivery per subscriber and day), so it is claimed, retried and fenced
-- as a digest is, and sent at most once.
ALTER TABLE deliveries
  ADD COLUMN kind text NOT NULL DEFAULT 'digest' CHECK (kind IN ('digest', 'nothing_new'));

-- "At most once a week" looks for the subscriber's last note; notes are rare, so the index is small.
CREATE INDEX deliveries_nothing_new_idx ON deliveries (subscriber_id, digest_date) WHERE kind = 'nothing_new';
