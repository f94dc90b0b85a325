/// <reference types="vite/client" />

/** Made by vite.config.ts: loads @tensorflow/tfjs-backend-webgpu when it is installed, else null. */
declare module 'virtual:ragan-webgpu' {
  export const loadWebGpu: (() => Promise<unknown>) | null;
}
