-- arXiv holds different papers under the same title. A title now merges a reported paper into a
-- row only when one of the two has no arXiv id, so two papers with their own arXiv ids may share a
-- title key; among rows without an id it stays unique, which keeps the seed page one row per title.
ALTER TABLE papers DROP CONSTRAINT papers_title_key_key;
CREATE UNIQUE INDEX papers_title_key_without_arxiv_idx ON papers (title_key) WHERE arxiv_id IS NULL;
CREATE INDEX papers_title_key_idx ON papers (title_key);

-- Why a read skipped entries, kept bounded (services/papers/limits.ts): the count per reason (at
-- most 20 reasons, the rest as "other reasons") and the first 20 skipped entries with their reason,
-- each name and reason cut to 200 characters. NULL for a failed read and for reads before this.
ALTER TABLE ingest_runs
  ADD COLUMN skipped_reasons jsonb,
  ADD COLUMN skipped_entries jsonb;
