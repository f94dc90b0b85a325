/**
 * Elementwise kernels and reductions of the wasm backend in our own WebAssembly SIMD
 * (wasm-elementwise-simd.ts), where tfjs-backend-wasm 4.22's are far from the memory bound:
 * - `LeakyRelu` is a scalar loop there, ≈10 ms per million floats against ≈1 ms in 128-bit SIMD. The
 *   `paper` generator runs it 26 times per 256² image: 270 ms of a 3.5 s forward pass.
 * - `Sum` and `Mean` over leading or middle axes (per channel, per image and channel: batch norm,
 *   weight demodulation, the gradients of broadcast ops) transpose the reduced axes to the end first.
 * Broadcast `Add` and `Multiply` were measured too and left alone: SIMD gained 1.0–1.3× there.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { elementwiseSimd, type ElementwiseSimd } from './wasm-elementwise-simd.js';
import { heapMemory, heapOffset } from './wasm-heap.js';

type TensorInfo = tf.TensorInfo;
type KernelFunc = tf.KernelFunc;

let calls = { simd: 0 };

/** Calls that ran our SIMD loops since the last reset (for tests and benchmarks). */
export function wasmElementwiseCalls(reset = false): { simd: number } {
  const c = { ...calls };
  if (reset) calls = { simd: 0 };
  return c;
}

const bits = new Int32Array(1);
const asFloat = new Float32Array(bits.buffer);

/** float32 bits of `x` (as the SIMD loop takes a constant). */
function float32Bits(x: number): number {
  asFloat[0] = x;
  return bits[0]!;
}

const size = (shape: readonly number[]) => shape.reduce((p, q) => p * q, 1);

/** The SIMD loops for this backend's heap, or null (another backend, or no WebAssembly SIMD). */
function simdFor(backend: BackendWasm): ElementwiseSimd | null {
  if (typeof backend.typedArrayFromHeap !== 'function') return null;
  const mem = heapMemory(backend);
  return mem ? elementwiseSimd(mem) : null;
}

/**
 * `LeakyRelu` on wasm: `x < 0 ? alpha·x : x` in SIMD, bit-identical to the stock kernel (−0 and NaN
 * pass through). Other dtypes, and runtimes without WebAssembly SIMD, use `stock`.
 */
export function makeWasmLeakyRelu(stock: KernelFunc): KernelFunc {
  return ((args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }) => {
    const { x } = args.inputs as unknown as { x: TensorInfo };
    const backend = args.backend as BackendWasm;
    const alpha = Number((args.attrs as unknown as tf.LeakyReluAttrs | undefined)?.alpha ?? 0.2);
    const simd = x.dtype === 'float32' ? simdFor(backend) : null;
    if (!simd) return stock(args as Parameters<KernelFunc>[0]);
    const out = backend.makeOutput(x.shape, 'float32');
    const n = size(x.shape);
    const main = n - (n % 4);
    if (main > 0) {
      try {
        simd.leakyRelu(heapOffset(backend, x, 'LeakyRelu'), heapOffset(backend, out, 'LeakyRelu'), 4 * main, float32Bits(alpha));
      } catch (e) {
        backend.disposeData(out.dataId);
        throw e;
      }
      calls.simd++;
    }
    // The last n mod 4 values (views taken after the allocation, which may grow the heap).
    const src = backend.typedArrayFromHeap(x) as Float32Array;
    const dst = backend.typedArrayFromHeap(out) as Float32Array;
    const a = Math.fround(alpha);
    for (let i = main; i < n; i++) {
      const v = src[i]!;
      dst[i] = v < 0 ? a * v : v;
    }
    return out;
  }) as KernelFunc;
}

/**
 * `Sum` and `Mean` on wasm over a block of consecutive axes before the last (NHWC: [0, 1, 2] per
 * channel, [1, 2] per image and channel) in SIMD: one pass over x in memory order, where tfjs's kernels
 * transpose the reduced axes to the end first. Measured here, one thread, stock → ours: Sum over
 * [0, 1, 2] of [4, 64, 64, 64] 7.7–9.5 → 0.7–0.8 ms; Mean over [1, 2] of [1, 64, 64, 256] 8.0–9.6 →
 * 0.8–1.0 ms; Mean over [2] of [256, 128, 2, 64] 16.0 → 4.3 ms. Each output sums its inputs in order
 * from 0 and Mean divides by the count, as the stock kernels do (bit-identical, tested). Other
 * reductions, dtypes and trailing sizes that are not multiples of 4 use `stock`.
 */
export function makeWasmReduce(kind: 'Sum' | 'Mean', stock: KernelFunc): KernelFunc {
  return ((args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }) => {
    const { x } = args.inputs as unknown as { x: TensorInfo };
    const backend = args.backend as BackendWasm;
    const attrs = (args.attrs ?? {}) as unknown as { axis: number | number[]; keepDims?: boolean };
    const simd = x.dtype === 'float32' ? simdFor(backend) : null;
    const rank = x.shape.length;
    const axes = simd && rank > 1 ? [...new Set(tf.util.parseAxisParam(attrs.axis, x.shape))].sort((p, q) => p - q) : [];
    // A contiguous block of axes [i, j] before the last: x is [N, P, C] with N = Π dims < i, P = Π dims
    // i…j, C = Π dims > j, and the result [N, C].
    const i = axes[0] ?? 0;
    const j = axes[axes.length - 1] ?? 0;
    const block = axes.length >= 1 && j < rank - 1 && axes.every((a, k) => a === i + k);
    const N = size(x.shape.slice(0, i));
    const P = size(x.shape.slice(i, j + 1));
    const C = size(x.shape.slice(j + 1));
    if (!simd || !block || C % 4 !== 0 || N * P * C === 0) return stock(args as Parameters<KernelFunc>[0]);
    const outShape = x.shape.map((d, k) => (k >= i && k <= j ? 1 : d)).filter((_, k) => attrs.keepDims || k < i || k > j);
    const out = backend.makeOutput(outShape, 'float32');
    try {
      simd.colSum(heapOffset(backend, x, kind), heapOffset(backend, out, kind), N, P, 4 * C, kind === 'Mean' ? 1 : 0);
      calls.simd++;
    } catch (e) {
      backend.disposeData(out.dataId);
      throw e;
    }
    return out;
  }) as KernelFunc;
}
