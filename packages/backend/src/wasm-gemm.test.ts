import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededValues as values } from '@ragan/test-utils/tensors';
import { registerWasmTrainingKernels } from './wasm-training.js';
import { gemmModuleBytes } from './wasm-gemm-simd.js';
import { installWasmGemm, setWasmGemm, singleThreadGemm, wasmGemm, type WasmGemm } from './wasm-gemm.js';
import { winogradConv3x3, winogradTransforms } from './wasm-winograd.js';
import { heapMemory } from './wasm-heap.js';
import { F4 } from './wasm-winograd-simd.js';

let be: BackendWasm;
let gemm: WasmGemm;

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.setBackend('wasm');
  registerWasmTrainingKernels();
  be = tf.backend() as BackendWasm;
  const g = singleThreadGemm(heapMemory(be)!);
  expect(g, 'the product compiles on this Node').not.toBeNull();
  gemm = g!;
});

afterAll(() => {
  setWasmGemm(null);
});

/** a · b on the cpu backend, as plain data. */
async function cpuMatMul(a: Float32Array, b: Float32Array, M: number, N: number, K: number): Promise<Float32Array> {
  await tf.setBackend('cpu');
  const y = tf.tidy(() => tf.matMul(tf.tensor2d(a, [M, K]), tf.tensor2d(b, [K, N])).dataSync() as Float32Array);
  await tf.setBackend('wasm');
  return y;
}

/** Our product of a [M, K] and b [K, N] through the heap; frees everything it allocated. */
function ours(g: WasmGemm, a: Float32Array, b: Float32Array, M: number, N: number, K: number): Float32Array {
  const at = tf.tensor2d(a, [M, K]);
  const bt = tf.tensor2d(b, [K, N]);
  const ids = be.numDataIds();
  const bp = be.makeOutput([K, N], 'float32');
  const c = be.makeOutput([M, N], 'float32');
  const off = (t: tf.TensorInfo) => be.typedArrayFromHeap(t).byteOffset;
  g.pack(off(bt), off(bp), K, N);
  g.mul(off(at), off(bp), off(c), M, N, K);
  const out = (be.typedArrayFromHeap(c) as Float32Array).slice();
  be.disposeData(bp.dataId);
  be.disposeData(c.dataId);
  expect(be.numDataIds()).toBe(ids);
  tf.dispose([at, bt]);
  return out;
}

function maxRelError(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale === 0 ? worst : worst / scale;
}

describe('our wasm matrix product', () => {
  it('assembles into a valid module, shared memory or not', () => {
    expect(WebAssembly.validate(gemmModuleBytes(false))).toBe(true);
    expect(WebAssembly.validate(gemmModuleBytes(true))).toBe(true);
  });

  // M: below one 4-row block, blocks plus remainder rows, exact blocks; N: one and several panels of 8.
  it.each([
    [1, 8, 1],
    [3, 8, 5],
    [4, 16, 3],
    [5, 8, 64],
    [17, 40, 33],
    [64, 64, 128],
    [130, 256, 96],
  ])('matches the cpu matMul, M %i N %i K %i', async (M, N, K) => {
    const a = values(M * K, M + 1);
    const b = values(K * N, N + 2);
    const expected = await cpuMatMul(a, b, M, N, K);
    const actual = ours(gemm, a, b, M, N, K);
    expect(actual.length).toBe(M * N);
    // float32 sums of K products against the cpu's: ≈1e-7 relative; a wrong index gives order 1.
    expect(maxRelError(actual, expected)).toBeLessThan(2e-6);
  });

  // Both sum over k in order with a multiply and an add per step; ours in bands of 256 k (K = 600: two
  // full bands and a partial one), each going on from the last.
  it.each([
    [64, 32, 48],
    [13, 16, 600],
  ])('gives the same bits as tfjs wasm matMul (XNNPACK), M %i N %i K %i', (M, N, K) => {
    const a = values(M * K, 3);
    const b = values(K * N, 4);
    const expected = tf.tidy(() => tf.matMul(tf.tensor2d(a, [M, K]), tf.tensor2d(b, [K, N])).dataSync() as Float32Array);
    expect(Array.from(ours(gemm, a, b, M, N, K))).toEqual(Array.from(expected));
  });

  it('reads a window of a wider matrix (row stride sr)', () => {
    const [M, N, K, wide] = [9, 8, 20, 31];
    const big = values(M * wide, 7);
    const b = values(K * N, 8);
    const window = new Float32Array(M * K);
    for (let r = 0; r < M; r++) window.set(big.subarray(r * wide + 5, r * wide + 5 + K), r * K);
    const expected = ours(gemm, window, b, M, N, K);
    const at = tf.tensor1d(big);
    const bt = tf.tensor2d(b, [K, N]);
    const bp = be.makeOutput([K, N], 'float32');
    const c = be.makeOutput([M, N], 'float32');
    const off = (t: tf.TensorInfo) => be.typedArrayFromHeap(t).byteOffset;
    gemm.pack(off(bt), off(bp), K, N);
    gemm.mul(off(at) + 5 * 4, off(bp), off(c), M, N, K, wide * 4);
    expect(Array.from(be.typedArrayFromHeap(c) as Float32Array)).toEqual(Array.from(expected));
    be.disposeData(bp.dataId);
    be.disposeData(c.dataId);
    tf.dispose([at, bt]);
  });

  it('transposes [rows, cols] in blocks of 4 (rows and cols multiples of 4)', () => {
    const sizes: [number, number][] = [
      [4, 4],
      [8, 12],
      [300, 4],
      [4, 260],
      [68, 132],
    ];
    for (const [R, C] of sizes) {
      const x = tf.tensor2d(values(R * C, R), [R, C]);
      const y = be.makeOutput([C, R], 'float32');
      gemm.transpose(be.typedArrayFromHeap(x).byteOffset, be.typedArrayFromHeap(y).byteOffset, R, C);
      const expected = tf.tidy(() => tf.transpose(x).dataSync() as Float32Array);
      expect(Array.from(be.typedArrayFromHeap(y) as Float32Array), `${R}×${C}`).toEqual(Array.from(expected));
      be.disposeData(y.dataId);
      x.dispose();
    }
  });

  it('transposes a strided window: every other row of a wider matrix into columns of a wider result', () => {
    // src [R, C] = rows 1, 3, 5, … of X [2R + 1, C + 8] from column 4 on; dst [C, R] is columns 4… of Y [C, R + 8]
    const [R, C] = [12, 8];
    const X = values((2 * R + 1) * (C + 8), 3);
    const x = tf.tensor2d(X, [2 * R + 1, C + 8]);
    const y = be.makeOutput([C, R + 8], 'float32');
    (be.typedArrayFromHeap(y) as Float32Array).fill(-7);
    const xAt = be.typedArrayFromHeap(x).byteOffset;
    const yAt = be.typedArrayFromHeap(y).byteOffset;
    gemm.transpose(xAt + (C + 8 + 4) * 4, yAt + 4 * 4, R, C, 2 * (C + 8) * 4, R + 8);
    const Y = be.typedArrayFromHeap(y) as Float32Array;
    for (let c = 0; c < C; c++) {
      for (let j = 0; j < R + 8; j++) {
        const want = j >= 4 && j < R + 4 ? X[(2 * (j - 4) + 1) * (C + 8) + 4 + c]! : -7; // outside the window: untouched
        expect(Y[c * (R + 8) + j], `dst row ${c}, column ${j}`).toBe(want);
      }
    }
    be.disposeData(y.dataId);
    x.dispose();
  });

  it('runs the Winograd products, and leaves Co not a multiple of 8 to XNNPACK', () => {
    const simd = winogradTransforms(be, F4)!;
    const matMul = tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc;
    let calls = 0;
    const counting: WasmGemm = { ...gemm, mul: (...a) => (calls++, gemm.mul(...a)) };
    for (const Co of [16, 12]) {
      const x = tf.tensor4d(values(2 * 9 * 10 * 16, 5), [2, 9, 10, 16]);
      const f = tf.tensor4d(values(9 * 16 * Co, 6), [3, 3, 16, Co]);
      const pads = { top: 1, bottom: 1, left: 1, right: 1 };
      calls = 0;
      const ids = be.numDataIds();
      const withOurs = winogradConv3x3(be, simd, matMul, x, f, pads, counting);
      const withXnn = winogradConv3x3(be, simd, matMul, x, f, pads, null);
      expect(be.numDataIds(), 'only the two outputs are left').toBe(ids + 2);
      expect(calls).toBe(Co % 8 === 0 ? 36 : 0);
      const p = (be.typedArrayFromHeap(withOurs) as Float32Array).slice();
      const q = (be.typedArrayFromHeap(withXnn) as Float32Array).slice();
      expect(maxRelError(p, q)).toBeLessThan(1e-6);
      be.disposeData(withOurs.dataId);
      be.disposeData(withXnn.dataId);
      tf.dispose([x, f]);
    }
  });

  it('is installed for one wasm thread, and not for more without a provider, nor when disabled', async () => {
    const mem = heapMemory(be);
    expect((await installWasmGemm(mem, 1, true))?.threads).toBe(1);
    expect(wasmGemm()?.threads).toBe(1);
    expect(await installWasmGemm(mem, 1, false)).toBeNull();
    expect(wasmGemm()).toBeNull();
    expect(await installWasmGemm(mem, 2, true)).toBeNull(); // no provider registered in this test
    expect(wasmGemm()).toBeNull();
  });
});
