import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['services/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Hang guards, not speed checks (tests assert no timings): a CLI process costs about 3 s of CPU
    // to start, some tests start five, and a busy two-core machine takes several times as long.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Vitest's default on two cores is one worker; most of a test file's time is spent waiting on
    // PostgreSQL, Redis, SMTP and child processes, so two keep both cores busy.
    maxWorkers: 2,
  },
});
