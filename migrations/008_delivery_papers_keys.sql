-- delivery_papers.subscriber_id is a copy of its delivery's subscriber, kept for the "never the
-- same paper twice" key and the "sent before" lookups. Its own foreign key to subscribers checked
-- every recorded paper (ten per digest) against a row the delivery's key already holds, and
-- erasing a subscriber already reaches these rows through deliveries (ON DELETE CASCADE).
ALTER TABLE delivery_papers DROP CONSTRAINT delivery_papers_subscriber_id_fkey;
