import { defineProject } from 'vitest/config';
import { optionalWebGpu } from './vite-plugins.js';

export default defineProject({
  resolve: { conditions: ['@ragan/source'] },
  ssr: { resolve: { conditions: ['@ragan/source'] } },
  plugins: [optionalWebGpu()],
  test: {
    name: 'web-demo',
    // Unit tests only; the browser test (e2e/*.e2e.ts) has its own config: vitest.e2e.config.ts.
    include: ['src/**/*.test.ts'],
    testTimeout: 60_000,
    pool: 'forks',
  },
});
