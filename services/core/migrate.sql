-- name: lock
-- Serialises concurrent starts until this transaction ends.
SELECT pg_advisory_xact_lock($1);

-- name: create-ledger
-- The record of applied migrations.
CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());

-- name: applied
-- Migrations already applied.
SELECT version FROM schema_migrations;

-- name: record
-- Notes one migration as applied.
INSERT INTO schema_migrations (version) VALUES ($1);
