import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb, type Db } from '../services/core/db.ts';
import { migrate } from '../services/core/migrate.ts';
import { PREFERENCE_COLUMNS, PREFERENCE_DEFAULTS, toColumns } from '../services/subscribers/preferences.ts';
import { STATUS_NAMES } from '../services/subscribers/status.ts';
import { createScratchDatabase } from './support/servers.ts';

/**
 * A preference and a subscriber status are defined once in code (preferences.ts, status.ts); the
 * schema a migration writes must say the same: a column per preference with the same default, and
 * the same statuses in the CHECK constraint.
 */
describe('the definitions in code and the schema', () => {
  let db: Db;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const database = await createScratchDatabase(inject('adminDatabaseUrl'), 'paperboy_definitions');
    drop = database.drop;
    db = createDb(database.url, { max: 2 });
    await migrate(db);
  });
  afterAll(async () => {
    await db?.close();
    await drop?.();
  });

  it("gives a subscriber who chose nothing the preferences' defaults, each in its own column", async () => {
    const { rows } = await db.query(
      `INSERT INTO subscribers (email) VALUES ('nobody@example.org') RETURNING ${PREFERENCE_COLUMNS.join(', ')}`,
    );
    expect(rows[0]).toEqual(toColumns(PREFERENCE_DEFAULTS));
  });

  it('allows exactly the statuses status.ts defines', async () => {
    const { rows } = await db.query<{ def: string }>(
      `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conname = 'subscribers_status_check'`,
    );
    const allowed = [...(rows[0]?.def ?? '').matchAll(/'(\w+)'::text/g)].map((m) => m[1]);
    expect(allowed.sort()).toEqual([...STATUS_NAMES].sort());
  });
});
