import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@ragan/source'] },
  ssr: { resolve: { conditions: ['@ragan/source'] } },
  test: {
    name: 'backend',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
