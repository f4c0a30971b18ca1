-- What a reader teaches Paperboy (docs/relevance.md): votes from the mail, authors and
-- organizations followed, terms excluded, and the model learned from the votes.

-- "More like this" (+1) / "Less like this" (−1), one per subscriber and paper, changeable and
-- undoable (the row is deleted). Only a paper of a digest that subscriber was sent can be voted on:
-- the vote link is signed for one delivery and the service checks the paper was in it.
CREATE TABLE paper_votes (
  subscriber_id bigint NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
  paper_id      bigint NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
  value         smallint NOT NULL CHECK (value IN (-1, 1)),
  voted_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (subscriber_id, paper_id)
);
CREATE INDEX paper_votes_paper_idx ON paper_votes (paper_id);

-- Authors and organizations followed, by name key (services/relevance/text.ts nameKey), with the
-- name as a paper wrote it. Following a name no paper carries is refused.
CREATE TABLE follows (
  subscriber_id bigint NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
  kind          text NOT NULL CHECK (kind IN ('author', 'organization')),
  name_key      text NOT NULL,
  name          text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (subscriber_id, kind, name_key)
);

-- Terms whose papers are never sent, a preference like topics.
ALTER TABLE subscribers ADD COLUMN excluded_terms text[] NOT NULL DEFAULT '{}';

-- A reader's model (services/relevance/model.ts ReaderModel), trained from their votes and topics
-- by the planner when it has none or the votes or topics changed since (`basis`). Deleted with the
-- subscriber; absent for a reader who has not voted.
CREATE TABLE reader_models (
  subscriber_id bigint PRIMARY KEY REFERENCES subscribers (id) ON DELETE CASCADE,
  model         jsonb NOT NULL,
  -- What it was trained on: the votes' count and latest time, and the topics, as one text.
  basis         text NOT NULL,
  trained_at    timestamptz NOT NULL DEFAULT now()
);
