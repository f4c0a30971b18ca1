import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A query PostgreSQL parses and plans once per connection (a named prepared statement) instead
 * of on every run. Worth it for short statements run very often, where parsing and planning cost
 * more than running (a signup's upsert: about half of PostgreSQL's time per signup), and only for
 * those whose best plan does not depend on their parameters: a prepared statement may settle on
 * one plan for all of them.
 */
export interface PreparedQuery {
  name: string;
  text: string;
}

/** What `Queryable.query` runs: SQL text, or a prepared query. */
export type Sql = string | PreparedQuery;

/**
 * Reads a `.sql` file of named queries:
 *
 *   -- name: claim-due-subscribers
 *   -- Locks a batch of subscribers whose digest is due.
 *   SELECT ...
 *
 * and returns exactly the names asked for, failing at load time when one is missing or unexpected,
 * so a typo surfaces at boot rather than on the first request that needs the query.
 */
export function loadQueries<const N extends string, const P extends N = never>(
  file: string | URL,
  names: readonly N[],
  opts: { prepared?: readonly P[] } = {},
): Record<Exclude<N, P>, string> & Record<P, PreparedQuery> {
  const text = readFileSync(file, 'utf8');
  const found = parseNamedQueries(text);
  const missing = names.filter((n) => !found.has(n));
  const extra = [...found.keys()].filter((n) => !names.includes(n as N));
  if (missing.length || extra.length) {
    throw new Error(
      `${String(file)}: ${missing.length ? `missing queries ${missing.join(', ')}` : ''}${
        missing.length && extra.length ? '; ' : ''
      }${extra.length ? `unexpected queries ${extra.join(', ')}` : ''}`,
    );
  }
  const prepared = new Set<string>(opts.prepared ?? []);
  // Statement names are per connection: the file's name keeps two files' queries apart.
  const prefix = path.basename(file instanceof URL ? file.pathname : file, '.sql');
  return Object.fromEntries(
    names.map((n) => {
      const sql = found.get(n) as string;
      return [n, prepared.has(n) ? { name: `${prefix}/${n}`, text: sql } : sql];
    }),
  ) as Record<Exclude<N, P>, string> & Record<P, PreparedQuery>;
}

export function parseNamedQueries(text: string): Map<string, string> {
  const queries = new Map<string, string>();
  let name: string | undefined;
  let body: string[] = [];
  const flush = () => {
    if (name === undefined) return;
    const sql = body.join('\n').trim();
    if (!sql) throw new Error(`query ${name} is empty`);
    if (queries.has(name)) throw new Error(`query ${name} is defined twice`);
    queries.set(name, sql);
  };
  for (const line of text.split('\n')) {
    const m = /^--\s*name:\s*([a-z0-9-]+)\s*$/.exec(line);
    if (m) {
      flush();
      name = m[1];
      body = [];
    } else if (name !== undefined && !/^\s*--/.test(line)) {
      body.push(line);
    }
  }
  flush();
  return queries;
}
