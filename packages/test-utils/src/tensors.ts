/** Tensor helpers for tests: deterministic values, closeness and leak checks, convolution cases. */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';

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

/**
 * Largest difference between two gradient maps over `vars`, each variable's difference relative to its
 * largest expected magnitude (at least 1e-3): for "same gradients by another route" checks.
 */
export function maxGradientDifference(expected: tf.NamedTensorMap, actual: tf.NamedTensorMap, vars: readonly tf.Variable[]): number {
  let worst = 0;
  for (const v of vars) {
    const a = expected[v.name]!.dataSync();
    const b = actual[v.name]!.dataSync();
    const scale = Math.max(1e-3, ...Array.from(a, Math.abs));
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / scale);
  }
  return worst;
}

/**
 * Deterministic values in [-scale, scale) (mulberry32), identical on every backend. Its own few lines
 * rather than @ragan/core's Rng: @ragan/backend's tests use it, and backend sits below core in the graph.
 */
export function seededValues(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1) * scale;
  }
  return out;
}

/** A conv2d pad as tfjs takes it. */
export type ConvPad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

/** An NHWC convolution layer to test: input [B, H, W, Ci], Co output channels. */
export interface ConvLayerCase {
  name: string;
  B: number;
  H: number;
  W: number;
  Ci: number;
  Co: number;
  pad: ConvPad;
}
