-- delivery_papers gets ten rows per planned digest, and its two remaining foreign keys checked
-- each one: a lookup and a row lock on its delivery, and on its paper, per row. That was a third
-- of planning's time (17 of 53 ms per batch of 200 on the benchmark machine).
--
-- Both references hold by construction: the only writer, plan-deliveries (digests.sql), inserts
-- the papers of deliveries the same statement creates, chosen from the papers table.
-- What the keys also did is cascade deletes, which these statement-level triggers now do, once
-- per statement and set-based: erasing a subscriber (through deliveries) or deleting a delivery
-- drops its papers, and deleting papers drops them from the record of what was sent. (TRUNCATE
-- deliveries no longer reaches delivery_papers: name both tables.)
ALTER TABLE delivery_papers
  DROP CONSTRAINT delivery_papers_delivery_id_fkey,
  DROP CONSTRAINT delivery_papers_paper_id_fkey;

CREATE FUNCTION paperboy_drop_papers_of_deleted_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM delivery_papers dp USING gone WHERE dp.delivery_id = gone.id;
  RETURN NULL;
END $$;

CREATE TRIGGER deliveries_drop_papers AFTER DELETE ON deliveries
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
  EXECUTE FUNCTION paperboy_drop_papers_of_deleted_deliveries();

CREATE FUNCTION paperboy_drop_picks_of_deleted_papers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM delivery_papers dp USING gone WHERE dp.paper_id = gone.id;
  RETURN NULL;
END $$;

CREATE TRIGGER papers_drop_picks AFTER DELETE ON papers
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
  EXECUTE FUNCTION paperboy_drop_picks_of_deleted_papers();
