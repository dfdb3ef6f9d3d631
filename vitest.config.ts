import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // End-to-end suites start real servers on ephemeral ports and spawn processes; two workers keep a 2-core box responsive.
    maxWorkers: 2,
  },
});
