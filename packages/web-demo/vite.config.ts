import { defineConfig } from 'vite';
import { optionalWebGpu, precacheList } from './vite-plugins.js';

export default defineConfig({
  // Relative URLs: the built app works from any folder of any origin.
  base: './',
  resolve: { conditions: ['@ragan/source'] },
  plugins: [optionalWebGpu(), precacheList()],
  build: {
    target: 'es2022',
    outDir: 'dist',
    // tfjs is one large chunk; that is expected here.
    chunkSizeWarningLimit: 4096,
    rollupOptions: {
      onwarn(warning, warn) {
        // @ragan/backend loads the wasm backend with a dynamic import; face-api imports it statically: one chunk, as meant.
        if (/tfjs-backend-wasm.*is dynamically imported by .*but also statically imported/s.test(warning.message)) return;
        warn(warning);
      },
    },
  },
  preview: { host: '127.0.0.1' },
  server: { host: '127.0.0.1' },
});
