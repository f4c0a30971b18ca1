-- Planning walks due subscribers in (next_send_at, id) order from where its last batch ended, so a
-- run over many subscribers does not rescan the index entries its own earlier batches left dead.
CREATE INDEX subscribers_due_key_idx ON subscribers (next_send_at, id) WHERE status = 'active';
DROP INDEX subscribers_due_idx;
