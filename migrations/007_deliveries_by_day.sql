-- The status page reads recent digest days. Deliveries are written in day order, so a BRIN index
-- (a few pages for millions of rows, nearly free to maintain) finds the recent ones without
-- reading the whole table.
CREATE INDEX deliveries_digest_date_brin ON deliveries USING brin (digest_date);
