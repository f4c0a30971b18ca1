import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['services/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 90_000,
    pool: 'forks',
    // Vitest's default on two cores is one worker; most of a test file's time is spent waiting on
    // PostgreSQL, Redis, SMTP and child processes, so two keep both cores busy.
    maxWorkers: 2,
  },
});
