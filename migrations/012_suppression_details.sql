-- What caused a suppression (the SMTP reply, or the provider's report), so an operator can tell a
-- real bounce from a relay's mistake and lift the latter.
ALTER TABLE suppressions ADD COLUMN detail text;
CREATE INDEX suppressions_reason_idx ON suppressions (reason, created_at);
