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
 *
 * `fragments` fills `{{name}}` in the queries with SQL that a definition in code owns, such as the
 * columns a subscriber's preferences are stored in: the list is then written once, where the
 * preferences are defined, not in every statement that reads or writes them. A `{{name}}` with no
 * fragment given, or a fragment the file never uses, fails at load.
 */
export function loadQueries<const N extends string, const P extends N = never>(
  file: string | URL,
  names: readonly N[],
  opts: { prepared?: readonly P[]; fragments?: Readonly<Record<string, string>> } = {},
): Record<Exclude<N, P>, string> & Record<P, PreparedQuery> {
  const text = fillFragments(String(file), readFileSync(file, 'utf8'), opts.fragments ?? {});
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

function fillFragments(file: string, text: string, fragments: Readonly<Record<string, string>>): string {
  const unused = new Set(Object.keys(fragments));
  const filled = text.replace(/\{\{([a-z0-9-]+)\}\}/g, (_, name: string) => {
    const sql = fragments[name];
    if (sql === undefined) throw new Error(`${file}: no SQL fragment named ${name}`);
    unused.delete(name);
    return sql;
  });
  if (unused.size) throw new Error(`${file}: unused SQL fragments ${[...unused].join(', ')}`);
  return filled;
}

/** Lone UTF-16 surrogates: no character of their own, and refused by PostgreSQL's json parser. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * A value as one `jsonb` parameter: a record (or a list of them) a query reads with
 * `jsonb_populate_record`, instead of one positional parameter per column. Lone surrogates become
 * U+FFFD, as they do when a string is sent as a text parameter.
 */
export function jsonParam(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === 'string' ? v.replace(LONE_SURROGATE, '\ufffd') : v));
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
