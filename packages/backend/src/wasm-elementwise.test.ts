import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { seededValues as values } from '@ragan/test-utils/tensors';
import { registerWasmTrainingKernels } from './wasm-training.js';
import { elementwiseSimdBytesForTests } from './test-hooks.js';
import { wasmElementwiseCalls } from './wasm-elementwise.js';

let stockLeakyRelu: tf.KernelFunc;
const stockReduce: Record<'Sum' | 'Mean', tf.KernelFunc> = {} as Record<'Sum' | 'Mean', tf.KernelFunc>;

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.setBackend('wasm');
  // tfjs's own kernel, before ours replaces it.
  const k = tf.getKernel('LeakyRelu', 'wasm');
  expect(k).toBeDefined();
  stockLeakyRelu = k!.kernelFunc;
  for (const name of ['Sum', 'Mean'] as const) stockReduce[name] = tf.getKernel(name, 'wasm')!.kernelFunc;
  registerWasmTrainingKernels();
  expect(tf.getKernel('LeakyRelu', 'wasm')!.kernelFunc).not.toBe(stockLeakyRelu);
});

/** The values with every special case mixed in: ±0, ±Inf, NaN, tiny and huge magnitudes. */
function inputs(n: number, seed: number): Float32Array {
  const v = values(n, seed);
  const specials = [0, -0, Infinity, -Infinity, NaN, 1e-40, -1e-40, 3e38, -3e38];
  for (let i = 0; i < n; i += 7) v[i] = specials[(i / 7) % specials.length]!;
  return v;
}

/** Positions where a and b differ bit for bit. */
function bitDiffs(a: Float32Array, b: Float32Array): number {
  const x = new Int32Array(a.buffer, a.byteOffset, a.length);
  const y = new Int32Array(b.buffer, b.byteOffset, b.length);
  let n = Math.abs(x.length - y.length);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) n++;
  return n;
}

/**
 * Positions where a and b differ by more than float32 rounding of one product (the cpu backend
 * multiplies in float64 and rounds once; wasm rounds alpha first), or in sign, NaN or infinity.
 */
function ulpDiffs(a: Float32Array, b: Float32Array): number {
  let n = Math.abs(a.length - b.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const p = a[i]!;
    const q = b[i]!;
    if (Number.isNaN(p) || Number.isNaN(q)) {
      if (Number.isNaN(p) !== Number.isNaN(q)) n++;
    } else if (Object.is(p, q)) continue;
    else if (Math.sign(p) !== Math.sign(q) || !Number.isFinite(p) || !Number.isFinite(q) || Math.abs(p - q) > Math.abs(q) * 2 ** -23) n++;
  }
  return n;
}

describe('LeakyRelu on wasm in SIMD', () => {
  it('assembles into a valid module, shared memory or not', () => {
    expect(WebAssembly.validate(elementwiseSimdBytesForTests(false))).toBe(true);
    expect(WebAssembly.validate(elementwiseSimdBytesForTests(true))).toBe(true);
  });

  // Sizes: empty, below one vector, vectors plus a tail, and a large tensor.
  it.each([0, 1, 3, 4, 5, 16, 1027, 64 * 64 * 17])('is bit-identical to the stock kernel, and matches the cpu backend, %i values', async (n) => {
    for (const alpha of [0.2, 0, -0.5, 1.5]) {
      const data = inputs(n, n + 1);
      const be = tf.backend() as BackendWasm;
      const x = tf.tensor(data, [n]);
      const before = tf.memory().numTensors;
      const ids = be.numDataIds();
      const ours = tf.leakyRelu(x, alpha);
      expect(tf.memory().numTensors).toBe(before + 1);
      expect(be.numDataIds()).toBe(ids + 1);
      const oursData = ours.dataSync() as Float32Array;
      const stockInfo = stockLeakyRelu({ inputs: { x }, backend: be, attrs: { alpha } } as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
      const stock = tf.engine().makeTensorFromTensorInfo(stockInfo);
      expect(bitDiffs(oursData, stock.dataSync() as Float32Array), `alpha ${alpha}: against tfjs's wasm kernel`).toBe(0);
      await tf.setBackend('cpu');
      const cpu = tf.tidy(() => tf.leakyRelu(tf.tensor(data, [n]), alpha).dataSync() as Float32Array);
      await tf.setBackend('wasm');
      expect(ulpDiffs(oursData, cpu), `alpha ${alpha}: against the cpu backend`).toBe(0);
      tf.dispose([x, ours, stock]);
    }
  });

  it('keeps its gradient, also in a 4-D activation of odd size', () => {
    const x = tf.tensor4d(values(2 * 3 * 5 * 7, 9), [2, 3, 5, 7]);
    const dy = tf.tensor4d(values(2 * 3 * 5 * 7, 10), [2, 3, 5, 7]);
    const dx = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(v, 0.2), dy)))(x);
    const expected = tf.tidy(() => tf.where(tf.greater(x, 0), dy, tf.mul(dy, 0.2)));
    expect(Array.from(dx.dataSync())).toEqual(Array.from(expected.dataSync()));
    expect(tf.leakyRelu(x, 0.2).shape).toEqual([2, 3, 5, 7]);
    tf.dispose([x, dy, dx, expected]);
  });

  it('runs our loop for float32 (not for a tail alone), and leaves int32 tensors to the stock kernel', () => {
    wasmElementwiseCalls(true);
    const f = tf.tensor1d([-3, 0, 5, -1, 2]);
    tf.leakyRelu(f, 0.5).dispose();
    expect(wasmElementwiseCalls(true).simd).toBe(1);
    const tail = tf.tensor1d([-3, 0, 5]);
    expect(Array.from(tf.leakyRelu(tail, 0.5).dataSync())).toEqual([-1.5, 0, 5]);
    expect(wasmElementwiseCalls(true).simd).toBe(0);
    const x = tf.tensor1d([-3, 0, 5], 'int32');
    const y = tf.leakyRelu(x, 0.5);
    expect(wasmElementwiseCalls(true).simd).toBe(0);
    expect(Array.from(y.dataSync())).toEqual(Array.from(stockValues(x, 0.5)));
    tf.dispose([f, tail, x, y]);
  });
});

function stockValues(x: tf.Tensor, alpha: number): Float32Array | Int32Array {
  const info = stockLeakyRelu({ inputs: { x }, backend: tf.backend(), attrs: { alpha } } as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  const t = tf.engine().makeTensorFromTensorInfo(info);
  const d = t.dataSync() as Float32Array | Int32Array;
  t.dispose();
  return d;
}

describe('Sum and Mean on wasm over a block of axes before the last, in SIMD', () => {
  it('the module stays under 4 KB (browsers compile it synchronously)', () => {
    expect(elementwiseSimdBytesForTests(true).length).toBeLessThan(4096);
  });

  // Per channel, per image and channel, one middle axis, rank 2, batches of one; keepDims both ways.
  const cases: [number[], number[]][] = [
    [
      [2, 5, 6, 8],
      [0, 1, 2],
    ],
    [
      [3, 4, 5, 12],
      [1, 2],
    ],
    [[4, 3, 2, 16], [2]],
    [[7, 4], [0]],
    [
      [1, 9, 9, 4],
      [1, 2],
    ],
    [
      [5, 1, 3, 8],
      [0, 1],
    ],
  ];
  it.each(cases)('shape %j, axes %j: bit-identical to the stock kernels, and to the cpu backend within rounding', async (shape, axes) => {
    const n = shape.reduce((p, q) => p * q, 1);
    const data = values(n, shape.length + axes.length);
    const x = tf.tensor(data, shape);
    const be = tf.backend() as BackendWasm;
    for (const keepDims of [false, true]) {
      for (const name of ['Sum', 'Mean'] as const) {
        const before = tf.memory().numTensors;
        const ids = be.numDataIds();
        wasmElementwiseCalls(true);
        const ours = name === 'Sum' ? tf.sum(x, axes, keepDims) : tf.mean(x, axes, keepDims);
        expect(wasmElementwiseCalls().simd, 'our loop ran').toBeGreaterThanOrEqual(1);
        expect(tf.memory().numTensors).toBe(before + 1);
        expect(be.numDataIds()).toBe(ids + 1);
        const info = stockReduce[name]({
          inputs: { x },
          backend: be,
          attrs: { axis: axes, keepDims },
        } as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
        const stock = tf.engine().makeTensorFromTensorInfo(info);
        expect(ours.shape, `${name} keepDims ${keepDims}`).toEqual(stock.shape);
        expect(bitDiffs(ours.dataSync() as Float32Array, stock.dataSync() as Float32Array), `${name} keepDims ${keepDims}`).toBe(0);
        await tf.setBackend('cpu');
        const cpu = tf.tidy(
          () => (name === 'Sum' ? tf.sum(tf.tensor(data, shape), axes, keepDims) : tf.mean(tf.tensor(data, shape), axes, keepDims)).dataSync() as Float32Array,
        );
        await tf.setBackend('wasm');
        const got = ours.dataSync();
        let worst = 0;
        got.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - cpu[k]!))));
        expect(worst, `${name} against cpu`).toBeLessThan(1e-5);
        tf.dispose([ours, stock]);
      }
    }
    x.dispose();
  });

  it('leaves other reductions to the stock kernels, with the same results', () => {
    const other: [number[], number[] | number, 'float32' | 'int32'][] = [
      [[3, 4, 8], [2], 'float32'], // the last axis
      [[3, 4, 8], [0, 1, 2], 'float32'], // every axis
      [[3, 4, 5, 8], [0, 2], 'float32'], // not a block
      [[3, 5, 6], [0, 1], 'float32'], // 6 channels: not a multiple of 4
      [[3, 4, 8], [0, 1], 'int32'],
      [[3, 4, 8], -2, 'float32'], // a negative axis: [1] (taken)
    ];
    const be = tf.backend() as BackendWasm;
    for (const [shape, axis, dtype] of other) {
      const n = shape.reduce((p, q) => p * q, 1);
      const x =
        dtype === 'int32'
          ? tf.tensor(
              Array.from({ length: n }, (_, k) => k % 7),
              shape,
              'int32',
            )
          : tf.tensor(values(n, 3), shape);
      wasmElementwiseCalls(true);
      const ours = tf.sum(x, axis);
      const ran = wasmElementwiseCalls().simd;
      expect(ran, JSON.stringify([shape, axis, dtype])).toBe(axis === -2 ? 1 : 0);
      const info = stockReduce.Sum({
        inputs: { x },
        backend: be,
        attrs: { axis, keepDims: false },
      } as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
      const stock = tf.engine().makeTensorFromTensorInfo(info);
      expect(Array.from(ours.dataSync()), JSON.stringify([shape, axis, dtype])).toEqual(Array.from(stock.dataSync()));
      tf.dispose([x, ours, stock]);
    }
  });
});
