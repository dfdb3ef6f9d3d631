import { defineConfig } from 'vitest/config';

/** `npm run test:dist`: the production-install check, kept out of `npm test` because its `npm ci` takes minutes. */
export default defineConfig({
  test: {
    include: ['test/dist/**/*.dist.ts'],
    testTimeout: 120_000,
    hookTimeout: 20 * 60_000,
  },
});
