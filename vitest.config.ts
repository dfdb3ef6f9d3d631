import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // End-to-end suites start real servers on ephemeral ports and spawn processes; two workers keep a 2-core box responsive.
    maxWorkers: 2,
    // A PostgreSQL server for the store tests: COSELL_TEST_DATABASE_URL, else an embedded one started for the run.
    globalSetup: ['test/support/postgres-global-setup.ts'],
  },
});
