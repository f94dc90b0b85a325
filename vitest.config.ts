import { defineConfig } from 'vitest/config';

// One vitest project per package; `pnpm test` at the root runs them all with one summary. The global
// setup says once, after the summary, which tests were skipped for want of UTKFace (and fails under CI).
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'bench/vitest.config.ts'],
    globalSetup: ['packages/data/src/testing/utkface-setup.ts'],
  },
});
