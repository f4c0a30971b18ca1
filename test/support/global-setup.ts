import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { createLogger } from '../../services/core/logger.ts';
import { startLocalPostgres } from '../../services/local/postgres.ts';
import { startLocalRedis } from '../../services/local/redis.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A PostgreSQL server where tests may create and drop databases. */
    adminDatabaseUrl: string;
    redisUrl: string;
  }
}

/**
 * Real servers for the whole run: TEST_DATABASE_URL / TEST_REDIS_URL when set (CI starts
 * Debian's PostgreSQL and Redis), otherwise a throwaway embedded PostgreSQL and a redis-server
 * child, the same ones `npm start` uses.
 */
export default async function setup(project: TestProject) {
  const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'warn', 'test-setup');
  const stops: (() => Promise<void>)[] = [];
  let dir: string | undefined;

  let adminDatabaseUrl = process.env.TEST_DATABASE_URL;
  if (!adminDatabaseUrl) {
    dir = mkdtempSync(path.join(tmpdir(), 'paperboy-test-'));
    chmodSync(dir, 0o755); // as root, PostgreSQL runs as the postgres user, who must reach its data
    const pg = await startLocalPostgres(path.join(dir, 'pg'), log, { persistent: false, database: 'postgres' });
    stops.push(pg.stop);
    adminDatabaseUrl = pg.url;
  }
  let redisUrl = process.env.TEST_REDIS_URL;
  if (!redisUrl) {
    const redis = await startLocalRedis(undefined, log);
    stops.push(redis.stop);
    redisUrl = redis.url;
  }
  project.provide('adminDatabaseUrl', adminDatabaseUrl);
  project.provide('redisUrl', redisUrl);

  return async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
}
