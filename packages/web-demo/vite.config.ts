import { defineConfig } from 'vite';

export default defineConfig({
  resolve: { conditions: ['@ragan/source'] },
  build: { target: 'es2022', outDir: 'dist' },
});
