-- What caused a suppression (the SMTP reply, or the provider's report), so an operator can tell a
-- real bounce from a relay's mistake and lift the latter.
ALTER TABLE suppressions ADD COLUMN detail text;
CREATE INDEX suppressions_reason_idx ON suppressions (reason, created_at);

-- Sends of a delivery the relay failed (connection, AUTH, sender refused): not counted in
-- `attempts`, which measures what the message itself went through, but kept.
ALTER TABLE deliveries ADD COLUMN relay_failures integer NOT NULL DEFAULT 0;
