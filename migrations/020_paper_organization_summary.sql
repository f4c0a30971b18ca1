-- What a reader sees of a paper besides its abstract: the organization it comes from and a
-- one-line summary, when a source gives them (Hugging Face daily papers: `organization`,
-- `ai_summary`). NULL: no source said.
ALTER TABLE papers
  ADD COLUMN organization text,
  ADD COLUMN ai_summary   text;
