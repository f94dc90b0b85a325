import { defineConfig } from 'vitest/config';

// The browser test (e2e/*.e2e.ts): not part of `pnpm test` (the root's projects use vitest.config.ts,
// which includes only src/**/*.test.ts). Run it with `pnpm --filter web-demo test:e2e`, which builds first.
export default defineConfig({
  test: {
    name: 'web-demo-e2e',
    include: ['e2e/**/*.e2e.ts'],
    testTimeout: 240_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: ['verbose'],
  },
});
