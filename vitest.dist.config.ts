import { defineConfig } from 'vitest/config';

/** `npm run test:dist`: the production-install check, run last by `npm test` (its `npm ci --omit=dev` takes minutes). */
export default defineConfig({
  test: {
    include: ['test/dist/**/*.dist.ts'],
    testTimeout: 120_000,
    hookTimeout: 20 * 60_000,
  },
});
