import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect } from 'vitest';
import { initBackend, type BackendName } from '../src/backend/init-backend.js';

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

/** Max relative error |a-b| / max(1, |b|) over all elements must stay ≤ tol. */
export function expectTensorsClose(actual: tf.Tensor, expected: tf.Tensor, tol = 1e-5): void {
  expect(actual.shape).toEqual(expected.shape);
  const a = actual.dataSync();
  const b = expected.dataSync();
  let worst = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!));
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  if (!(worst <= tol)) {
    throw new Error(`tensors differ: max relative error ${worst} at flat index ${at} (${a[at]} vs ${b[at]}), tolerance ${tol}`);
  }
}

/** Runs fn and asserts that it leaves no tensors behind (fn must dispose what it returns). */
export async function expectNoLeakedTensors(fn: () => unknown | Promise<unknown>): Promise<void> {
  const before = tf.memory().numTensors;
  await fn();
  const after = tf.memory().numTensors;
  expect(after - before, `leaked ${after - before} tensors`).toBe(0);
}

/** Deterministic pseudo-random tensor in [-1, 1). */
export function seededUniform(shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform(shape, -1, 1, 'float32', seed);
}
