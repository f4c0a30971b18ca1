-- The claim that holds a delivery in `sending`. Only the holder of this token may settle the
-- delivery (sent, deferred, refused, bounced, released): a worker that stalled past its lease,
-- while another worker claimed the same delivery, changes nothing when it wakes up.
ALTER TABLE deliveries ADD COLUMN claim_token uuid;
