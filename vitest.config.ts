import { defineConfig } from 'vitest/config';

// One vitest project per package; `pnpm test` at the root runs them all with one summary.
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'bench/vitest.config.ts'],
  },
});
