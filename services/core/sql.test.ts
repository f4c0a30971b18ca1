import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonParam, loadQueries, parseNamedQueries } from './sql.ts';

describe('named SQL queries', () => {
  const text = `
-- name: first-query
-- Purpose line is a comment and not part of the SQL.
SELECT 1
  FROM t;

-- name: second
UPDATE t SET x = $1
`;

  it('splits a file into named queries without their comment lines', () => {
    const q = parseNamedQueries(text);
    expect([...q.keys()]).toEqual(['first-query', 'second']);
    expect(q.get('first-query')).toBe('SELECT 1\n  FROM t;');
    expect(q.get('second')).toBe('UPDATE t SET x = $1');
  });

  it('fails at load when a name is missing or unexpected', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'sql-')), 'q.sql');
    writeFileSync(file, text);
    expect(loadQueries(file, ['first-query', 'second']).second).toContain('UPDATE');
    expect(() => loadQueries(file, ['first-query', 'second', 'third'])).toThrow(/missing queries third/);
    expect(() => loadQueries(file, ['first-query'])).toThrow(/unexpected queries second/);
    // A prepared query carries a statement name, unique across files by the file's name.
    const q = loadQueries(file, ['first-query', 'second'], { prepared: ['second'] });
    expect(q.second).toEqual({ name: 'q/second', text: 'UPDATE t SET x = $1' });
    expect(q['first-query']).toBe('SELECT 1\n  FROM t;');
  });

  it('rejects a query defined twice or left empty', () => {
    expect(() => parseNamedQueries('-- name: a\nSELECT 1\n-- name: a\nSELECT 2')).toThrow(/twice/);
    expect(() => parseNamedQueries('-- name: a\n-- only a comment\n')).toThrow(/empty/);
  });

  it('fills fragments a definition in code owns, and fails on one missing or unused', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'sql-')), 'f.sql');
    writeFileSync(file, '-- name: read\nSELECT id, {{prefs}} FROM t;\n');
    expect(loadQueries(file, ['read'], { fragments: { prefs: 'a, b' } }).read).toBe('SELECT id, a, b FROM t;');
    expect(() => loadQueries(file, ['read'])).toThrow(/no SQL fragment named prefs/);
    expect(() => loadQueries(file, ['read'], { fragments: { prefs: 'a', other: 'b' } })).toThrow(
      /unused SQL fragments other/,
    );
  });

  it('writes a record as one JSON parameter, lone surrogates as U+FFFD like a text parameter', () => {
    const at = new Date('2026-03-02T10:00:00Z');
    expect(JSON.parse(jsonParam({ a: 1, at, t: ['x\ud800y', '😀', '\udc00'] }))).toEqual({
      a: 1,
      at: '2026-03-02T10:00:00.000Z',
      t: ['x\ufffdy', '😀', '\ufffd'],
    });
  });
});
