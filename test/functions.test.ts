import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb, type Db } from '../services/core/db.ts';
import { FUNCTIONS_FILE, migrate } from '../services/core/migrate.ts';
import { paths } from '../services/core/paths.ts';
import { createScratchDatabase } from './support/servers.ts';

/** Each function the file defines: its name and its body, as PostgreSQL keeps it (prosrc). */
const defined = [
  ...readFileSync(path.join(paths.migrations, FUNCTIONS_FILE), 'utf8').matchAll(
    /CREATE OR REPLACE FUNCTION (\w+)\([\s\S]*?\$\$([\s\S]*?)\$\$/g,
  ),
].map(([, name, body]) => `${name}: ${body}`);

/**
 * The SQL functions have one current definition, migrations/functions.sql, applied at every start
 * after the migrations: a database has exactly those, whatever its history, and applying them
 * again changes nothing.
 */
describe('the SQL functions file', () => {
  let db: Db;
  let drop: () => Promise<void>;
  const inDatabase = async () =>
    (
      await db.query<{ f: string }>(
        `SELECT p.proname || ': ' || p.prosrc AS f FROM pg_proc p
          WHERE p.proname LIKE 'paperboy\\_%' AND p.prokind = 'f' AND p.pronamespace = current_schema()::regnamespace
          ORDER BY 1`,
      )
    ).rows.map((r) => r.f);

  beforeAll(async () => {
    const database = await createScratchDatabase(inject('adminDatabaseUrl'), 'paperboy_functions');
    drop = database.drop;
    db = createDb(database.url, { max: 2 });
  });
  afterAll(async () => {
    await db?.close();
    await drop?.();
  });

  it('is what a migrated database runs: every function it defines, and no other', async () => {
    expect(defined.length).toBeGreaterThanOrEqual(9);
    expect((await migrate(db)).length).toBeGreaterThan(0);
    expect(await inDatabase()).toEqual([...defined].sort());
    const aggregate = await db.query(`SELECT 1 FROM pg_proc WHERE proname = 'paperboy_any_tsquery' AND prokind = 'a'`);
    expect(aggregate.rowCount).toBe(1);
  });

  it('is applied again at every start: a function changed by hand is put back, and a second run changes nothing', async () => {
    const hash = async () =>
      (await db.query<{ h: string }>(`SELECT paperboy_email_hash('ada@example.org') AS h`)).rows[0]?.h;
    const expected = await hash();
    await db.query(
      `CREATE OR REPLACE FUNCTION paperboy_email_hash(email text) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT 'x' $$`,
    );
    expect(await hash()).toBe('x');
    expect(await migrate(db)).toEqual([]);
    expect(await hash()).toBe(expected);
    expect(await migrate(db)).toEqual([]);
    expect(await inDatabase()).toEqual([...defined].sort());
  });

  it("computes a subscriber row's next send time as the column-wise function does", async () => {
    await db.query(
      `INSERT INTO subscribers (email, timezone, send_hour, frequency, send_weekday)
       VALUES ('a@example.org', 'Europe/Berlin', 7, 'weekly', 3), ('b@example.org', 'America/New_York', 23, 'daily', 1)`,
    );
    const { rows } = await db.query<{ by_row: Date; by_columns: Date }>(
      `SELECT paperboy_next_send_at('2026-03-29T00:30:00Z', s) AS by_row,
              paperboy_next_send_at('2026-03-29T00:30:00Z', s.timezone, s.send_hour, s.frequency, s.send_weekday) AS by_columns
         FROM subscribers s ORDER BY s.id`,
    );
    expect(rows).toHaveLength(2);
    for (const r of rows) expect(r.by_row).toEqual(r.by_columns);
  });
});
