-- What readers teach Paperboy: votes on papers they were sent, authors and organizations they
-- follow, and the models learned from their votes (migration 024, docs/relevance.md).

-- name: paper-of-delivery
-- Paper $2 as it was in delivery $1, with the delivery's subscriber: a vote link names both, and
-- only a paper of that digest can be voted on. No row: not in that digest, or the digest is gone.
SELECT d.subscriber_id, s.token_epoch, p.id AS paper_id, p.title, p.authors, p.organization,
       v.value AS vote
  FROM deliveries d
  JOIN subscribers s ON s.id = d.subscriber_id
  JOIN delivery_papers dp ON dp.delivery_id = d.id AND dp.paper_id = $2
  JOIN papers p ON p.id = dp.paper_id
  LEFT JOIN paper_votes v ON v.subscriber_id = d.subscriber_id AND v.paper_id = p.id
 WHERE d.id = $1;

-- name: record-vote
-- Subscriber $1's vote $3 (+1 more, −1 less) on paper $2; a second vote replaces the first.
INSERT INTO paper_votes (subscriber_id, paper_id, value, voted_at)
VALUES ($1, $2, $3, now())
ON CONFLICT (subscriber_id, paper_id) DO UPDATE
  SET value = excluded.value, voted_at = excluded.voted_at
  WHERE paper_votes.value <> excluded.value;

-- name: delete-vote
DELETE FROM paper_votes WHERE subscriber_id = $1 AND paper_id = $2;

-- name: delete-votes
DELETE FROM paper_votes WHERE subscriber_id = $1;

-- name: list-votes
-- A subscriber's votes, newest first, with the papers' titles.
SELECT v.paper_id, v.value, v.voted_at, p.title, p.arxiv_id
  FROM paper_votes v JOIN papers p ON p.id = v.paper_id
 WHERE v.subscriber_id = $1
 ORDER BY v.voted_at DESC, v.paper_id;

-- name: liked-citations
-- The papers subscriber $1 voted "more like this" on, oldest vote first, as a citation needs them.
SELECT p.id, p.title, p.authors, p.arxiv_id, p.categories,
       extract(year FROM coalesce(p.published_at, p.first_seen_at))::integer AS year
  FROM paper_votes v JOIN papers p ON p.id = v.paper_id
 WHERE v.subscriber_id = $1 AND v.value = 1
 ORDER BY v.voted_at, v.paper_id;

-- name: add-follow
INSERT INTO follows (subscriber_id, kind, name_key, name)
VALUES ($1, $2, $3, $4)
ON CONFLICT (subscriber_id, kind, name_key) DO NOTHING;

-- name: delete-follow
DELETE FROM follows WHERE subscriber_id = $1 AND kind = $2 AND name_key = $3;

-- name: list-follows
SELECT kind, name_key, name, created_at FROM follows WHERE subscriber_id = $1 ORDER BY kind, name;

-- name: names-like
-- Names of kind $1 ('author' or 'organization') that papers carry and that may have the name key
-- $2: a coarse filter (the letters a–z and digits of the key, in order, within the folded name)
-- whose hits the caller checks with nameKey. At most 50.
SELECT DISTINCT n.name
  FROM papers p
 CROSS JOIN LATERAL unnest(CASE WHEN $1 = 'author' THEN p.authors ELSE ARRAY[p.organization] END) AS n (name)
 WHERE n.name IS NOT NULL
   AND regexp_replace(lower(normalize(n.name, NFKD)), '[^a-z0-9]', '', 'g') LIKE '%' || $2 || '%'
 LIMIT 50;

-- name: personal-readers
-- Of subscribers $1, those who voted, follow someone or exclude a term: what the planner's
-- personal path needs of each (docs/relevance.md, "Planning"). A few index lookups per subscriber,
-- none of them a scan; subscribers who taught nothing cost two lookups and return no row.
SELECT s.id, s.topics, s.max_papers, s.excluded_terms,
       coalesce(f.authors, '{}') AS followed_authors,
       coalesce(f.organizations, '{}') AS followed_organizations,
       m.model, m.basis AS model_basis,
       CASE WHEN v.n > 0 THEN v.n || ':' || v.latest || ':' || s.topics::text END AS basis
  FROM subscribers s
  LEFT JOIN LATERAL (
    SELECT count(*) AS n, extract(epoch FROM max(voted_at))::text AS latest
      FROM paper_votes WHERE subscriber_id = s.id
  ) v ON true
  LEFT JOIN LATERAL (
    SELECT array_agg(name ORDER BY name) FILTER (WHERE kind = 'author') AS authors,
           array_agg(name ORDER BY name) FILTER (WHERE kind = 'organization') AS organizations,
           count(*) AS n
      FROM follows WHERE subscriber_id = s.id
  ) f ON true
  LEFT JOIN reader_models m ON m.subscriber_id = s.id
 WHERE s.id = ANY($1::bigint[])
   AND (s.excluded_terms <> '{}' OR v.n > 0 OR f.n > 0);

-- name: training-votes
-- Subscriber $1's newest $2 votes, oldest first, with what relevance reads of each paper: a
-- training costs about a millisecond a vote (reading its paper's words), so a reader who has
-- voted for years is trained on their recent taste, in bounded time.
SELECT * FROM (
  SELECT v.paper_id, v.value, v.voted_at, p.title, p.abstract, p.keywords, p.authors, p.organization
    FROM paper_votes v JOIN papers p ON p.id = v.paper_id
   WHERE v.subscriber_id = $1
   ORDER BY v.voted_at DESC, v.paper_id DESC
   LIMIT $2
) newest
ORDER BY voted_at, paper_id;

-- name: save-model
INSERT INTO reader_models (subscriber_id, model, basis, trained_at)
VALUES ($1, $2::jsonb, $3, now())
ON CONFLICT (subscriber_id) DO UPDATE SET model = excluded.model, basis = excluded.basis, trained_at = now();

-- name: delete-model
DELETE FROM reader_models WHERE subscriber_id = $1;

-- name: model-of
SELECT model, basis, trained_at FROM reader_models WHERE subscriber_id = $1;

-- name: sent-among
-- Which of their candidates subscribers were sent before. $1: a JSON array of {subscriber_id,
-- older}: `older` the candidates whose id is below $2. Per subscriber, one range scan of
-- delivery_papers' key from $2 up (the window's papers: about max_papers rows a day of the window,
-- whatever the number of candidates; the caller keeps those among the candidates), and one probe
-- of the key per older candidate (papers featured again).
WITH r AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS r (subscriber_id bigint, older bigint[])
)
-- OFFSET 0 keeps each subquery a lookup per subscriber (the key's index), never a join over the
-- whole table, whatever the planner estimates of the JSON's rows.
SELECT r.subscriber_id, dp.paper_id
  FROM r CROSS JOIN LATERAL (
    SELECT paper_id FROM delivery_papers
     WHERE subscriber_id = r.subscriber_id AND paper_id >= $2::bigint
    OFFSET 0
  ) dp
UNION ALL
SELECT r.subscriber_id, x.id
  FROM r CROSS JOIN LATERAL unnest(r.older) AS x (id)
 CROSS JOIN LATERAL (
    SELECT 1 FROM delivery_papers WHERE subscriber_id = r.subscriber_id AND paper_id = x.id OFFSET 0
  ) hit;
