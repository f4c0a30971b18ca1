-- Pausing, and what is kept of an address after it bounced or was erased.

ALTER TABLE subscribers DROP CONSTRAINT subscribers_status_check;
ALTER TABLE subscribers ADD CONSTRAINT subscribers_status_check
  CHECK (status IN ('pending', 'active', 'paused', 'unsubscribed', 'bounced'));
ALTER TABLE subscribers ADD COLUMN paused_at timestamptz;

-- Addresses that must not be mailed by accident, kept only as a hash of the normalised address:
-- an erased subscriber leaves nothing else behind.
CREATE TABLE suppressions (
  email_hash  text PRIMARY KEY,
  reason      text NOT NULL CHECK (reason IN ('erased', 'bounced')),
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- The one definition of that hash, used wherever suppressions are written or read.
CREATE FUNCTION paperboy_email_hash(email text) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT encode(sha256(convert_to('paperboy-suppression:' || email, 'UTF8')), 'hex')
$$;
