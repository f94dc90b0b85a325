import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@ragan/source'] },
  ssr: { resolve: { conditions: ['@ragan/source'] } },
  test: {
    name: 'data',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // UTKFace tests skip without ../shared (one notice per run; a failure under CI)
    globalSetup: ['src/testing/utkface-setup.ts'],
  },
});
