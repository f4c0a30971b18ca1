import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Db } from './db.ts';
import { paths } from './paths.ts';
import { loadQueries } from './sql.ts';

const sql = loadQueries(new URL('./migrate.sql', import.meta.url), ['lock', 'create-ledger', 'applied', 'record']);

// Any constant shared by every Paperboy process: concurrent starts serialise on it.
const MIGRATION_LOCK = 7_305_113_001;

/**
 * The file of SQL functions as they are now (CREATE OR REPLACE each), applied after the migrations
 * at every start: the one place their current definitions are read and changed.
 */
export const FUNCTIONS_FILE = 'functions.sql';

/**
 * Applies the numbered `.sql` files in `migrations/` that have not run yet, in order, then the
 * functions file, all in one transaction under one lock: every process that starts runs the
 * functions as that file defines them, and applying it again changes nothing.
 */
export async function migrate(db: Db, dir = paths.migrations): Promise<string[]> {
  const files = readdirSync(dir)
    .filter((f) => /^\d+_[\w-]+\.sql$/.test(f))
    .sort();
  return db.tx(async (client) => {
    await client.query(sql.lock, [MIGRATION_LOCK]);
    await client.query(sql['create-ledger']);
    const done = new Set((await client.query<{ version: string }>(sql.applied)).rows.map((r) => r.version));
    const applied: string[] = [];
    for (const file of files) {
      if (done.has(file)) continue;
      await client.query(readFileSync(path.join(dir, file), 'utf8'));
      await client.query(sql.record, [file]);
      applied.push(file);
    }
    await client.query(readFileSync(path.join(dir, FUNCTIONS_FILE), 'utf8'));
    return applied;
  });
}
