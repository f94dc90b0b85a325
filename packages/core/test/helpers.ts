import { beforeAll, describe } from 'vitest';
import { initBackend, type BackendName } from '../src/index.js';

/** Runs a describe block once per backend, with RAGAN's training kernels registered. */
export function describeBackends(backends: BackendName[], name: string, fn: (backend: BackendName) => void): void {
  for (const backend of backends) {
    describe(`${name} [${backend}]`, () => {
      beforeAll(async () => {
        await initBackend({ backend, quiet: true });
      });
      fn(backend);
    });
  }
}

/** The backend model tests train on (with RAGAN's training kernels registered): call in a `beforeAll`. */
export async function useTrainingBackend(): Promise<void> {
  await initBackend({ backend: 'wasm', quiet: true });
}
