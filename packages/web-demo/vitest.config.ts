import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@ragan/source'] },
  ssr: { resolve: { conditions: ['@ragan/source'] } },
  test: {
    name: 'web-demo',
    include: ['src/**/*.test.ts'],
  },
});
