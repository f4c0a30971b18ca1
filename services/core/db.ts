import pg from 'pg';
import { isUnavailable } from './errors.ts';
import type { Sql } from './sql.ts';

// bigint (int8) columns hold ids and counts that fit in a JS number.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));
// `date` columns are calendar days, not instants: keep them as 'YYYY-MM-DD'.
pg.types.setTypeParser(pg.types.builtins.DATE, (v) => v);

/** Anything that runs a query: the pool, or one client inside a transaction. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: Sql, params?: unknown[]): Promise<pg.QueryResult<R>>;
}

export interface Db extends Queryable {
  pool: pg.Pool;
  /** Runs `fn` in a transaction on one connection; rolls back if it throws. */
  tx<T>(fn: (client: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * Runs `fn` inside a savepoint of the transaction `client` is in: what it did is undone if it
 * throws (the error is passed on), and the transaction goes on either way.
 */
export async function withSavepoint<T>(client: Queryable, fn: () => Promise<T>): Promise<T> {
  await client.query('SAVEPOINT step');
  try {
    const result = await fn();
    await client.query('RELEASE SAVEPOINT step');
    return result;
  } catch (e) {
    await client.query('ROLLBACK TO SAVEPOINT step');
    throw e;
  }
}

export function createDb(connectionString: string, opts: { max?: number; onError?: (e: Error) => void } = {}): Db {
  const pool = new pg.Pool({ connectionString, max: opts.max ?? 10, application_name: 'paperboy' });
  // An idle client losing its server (a Postgres restart) must not crash the process; the pool replaces it.
  pool.on('error', (e) => opts.onError?.(e));
  return {
    pool,
    query: (sql, params) =>
      typeof sql === 'string' ? pool.query(sql, params) : pool.query({ ...sql, values: params }),
    async tx(fn) {
      const client = await pool.connect();
      // pg reports a server that went away (pg_terminate_backend, a restart, a broken network) as
      // an 'error' event on the client: at once when no statement of it is running, and again when
      // the socket closes. The pool listens only while the client is idle in it; held here, nobody
      // would, and an 'error' event nobody hears ends the process.
      let broken: unknown;
      const onError = (e: Error) => {
        broken ??= e;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (e) {
        // A connection in doubt is closed rather than rolled back: PostgreSQL rolls back the
        // transaction of a connection that ends, and a ROLLBACK sent to a dead server never returns.
        if (!broken && isUnavailable(e)) broken = e;
        if (!broken) {
          await client.query('ROLLBACK').catch((rollbackFailed) => {
            broken = rollbackFailed;
          });
        }
        throw e;
      } finally {
        client.removeListener('error', onError);
        // With an error the pool destroys the client instead of lending it out again.
        client.release(broken !== undefined);
      }
    },
    close: () => pool.end(),
  };
}
