import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { EnvSchema } from '../../services/core/config.ts';
import type { Logger } from '../../services/core/logger.ts';
import { startLocalPostgres } from '../../services/local/postgres.ts';
import { startLocalRedis } from '../../services/local/redis.ts';

/**
 * Throwaway servers for tests and benchmarks: the given URLs (CI starts Debian's PostgreSQL and
 * Redis), otherwise an embedded PostgreSQL and a redis-server child, the same ones `npm start` uses,
 * with their data in a temporary folder.
 */
export async function startScratchServers(given: { databaseUrl?: string; redisUrl?: string }, log: Logger) {
  const stops: (() => Promise<void>)[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), 'paperboy-scratch-'));
  chmodSync(dir, 0o755); // as root, PostgreSQL runs as the postgres user, who must reach its data
  try {
    let adminUrl = given.databaseUrl;
    if (!adminUrl) {
      const server = await startLocalPostgres(path.join(dir, 'pg'), log, { persistent: false, database: 'postgres' });
      stops.push(server.stop);
      adminUrl = server.url;
    }
    let redisUrl = given.redisUrl;
    if (!redisUrl) {
      const redis = await startLocalRedis(undefined, log);
      stops.push(redis.stop);
      redisUrl = redis.url;
    }
    return {
      /** A server where databases may be created and dropped. */
      adminUrl,
      redisUrl,
      async stop() {
        for (const stop of stops.reverse()) await stop().catch(() => {});
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    throw e;
  }
}

/** A fresh database on `adminUrl`, dropped (with its connections) by `drop`. */
export async function createScratchDatabase(adminUrl: string, prefix: string) {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const run = async (sql: string) => {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      await admin.query(sql);
    } finally {
      await admin.end();
    }
  };
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { name, url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** The parent's environment without Paperboy's own settings, plus `env`. */
export function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !(k in EnvSchema.shape)));
  return { ...base, ...env };
}

/**
 * The plans a statement runs, including those of the SQL functions it calls, which EXPLAIN alone
 * shows as one opaque node: auto_explain reports each back as a notice.
 */
export async function explainNested(db: { pool: pg.Pool }, text: string, params: unknown[]): Promise<string> {
  const client = await db.pool.connect();
  const plans: string[] = [];
  client.on('notice', (n) => plans.push(String(n.message)));
  try {
    await client.query("LOAD 'auto_explain'");
    await client.query('SET auto_explain.log_min_duration = 0');
    await client.query('SET auto_explain.log_nested_statements = on');
    await client.query("SET auto_explain.log_level = 'notice'");
    await client.query('BEGIN');
    await client.query(text, params);
    await client.query('ROLLBACK');
  } finally {
    client.release(true);
  }
  return plans.join('\n');
}
