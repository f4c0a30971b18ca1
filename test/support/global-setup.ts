import type { TestProject } from 'vitest/node';
import { createLogger } from '../../services/core/logger.ts';
import { startScratchServers } from './servers.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A PostgreSQL server where tests may create and drop databases. */
    adminDatabaseUrl: string;
    redisUrl: string;
  }
}

/** Real servers for the whole run: TEST_DATABASE_URL / TEST_REDIS_URL when set, else throwaway ones. */
export default async function setup(project: TestProject) {
  const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'warn', 'test-setup');
  const servers = await startScratchServers(
    { databaseUrl: process.env.TEST_DATABASE_URL, redisUrl: process.env.TEST_REDIS_URL },
    log,
  );
  project.provide('adminDatabaseUrl', servers.adminUrl);
  project.provide('redisUrl', servers.redisUrl);
  return () => servers.stop();
}
