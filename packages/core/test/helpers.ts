import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
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

/** The backend RAGAN trains on in these tests (browsers and Node alike). */
export const TRAINING_BACKEND = 'wasm' satisfies BackendName;

/** The backends whose results model tests compare: the cpu reference and the training backend. */
export const MODEL_TEST_BACKENDS = ['cpu', TRAINING_BACKEND] as const;
export type ModelTestBackend = (typeof MODEL_TEST_BACKENDS)[number];

/** The training backend with RAGAN's training kernels registered (initBackend): call in a `beforeAll`. */
export async function useTrainingBackend(): Promise<void> {
  await initBackend({ backend: TRAINING_BACKEND, quiet: true });
}

/** A backend with tfjs's stock kernels only (tf.setBackend, as a model test compares layers on it). */
export async function useStockBackend(backend: ModelTestBackend): Promise<void> {
  await tf.setBackend(backend);
  await tf.ready();
}
