import { readFileSync } from 'node:fs';

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
export function loadQueries<const N extends string>(file: string | URL, names: readonly N[]): Record<N, string> {
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
  return Object.fromEntries(names.map((n) => [n, found.get(n)])) as Record<N, string>;
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
