-- What a subscriber's links may still do: a link epoch that signing out every link moves on
-- (preferences links and digests' web versions carry the epoch they were signed in; unsubscribe
-- links do not, so an old digest's one-click unsubscribe keeps working), and when a fresh
-- preferences link was last asked for by mail, so asking cannot flood the address.
ALTER TABLE subscribers
  ADD COLUMN token_epoch              integer NOT NULL DEFAULT 0,
  ADD COLUMN manage_link_requested_at timestamptz;
