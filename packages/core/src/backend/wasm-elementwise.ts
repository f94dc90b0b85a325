/**
 * Elementwise kernels of the wasm backend in our own WebAssembly SIMD (wasm-simd-kernels.ts).
 *
 * Why: tfjs-backend-wasm 4.22's `LeakyRelu` is a scalar loop, measured here at ≈10 ms per million floats
 * (against ≈1 ms for the same pass in 128-bit SIMD, which is bound by memory). The `paper` generator
 * runs it 26 times per 256² image: 270 ms of a 3.5 s forward pass.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { elementwiseSimd } from './wasm-simd-kernels.js';
import { heapMemory } from './wasm-winograd.js';

type TensorInfo = tf.TensorInfo;
type KernelFunc = tf.KernelFunc;

const bits = new Int32Array(1);
const asFloat = new Float32Array(bits.buffer);

/** float32 bits of `x` (as the SIMD loop takes a constant). */
function float32Bits(x: number): number {
  asFloat[0] = x;
  return bits[0]!;
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
    const mem = x.dtype === 'float32' && typeof backend.typedArrayFromHeap === 'function' ? heapMemory(backend) : null;
    const simd = mem ? elementwiseSimd(mem) : null;
    if (!simd) return stock(args as Parameters<KernelFunc>[0]);
    const out = backend.makeOutput(x.shape, 'float32');
    const src = backend.typedArrayFromHeap(x) as Float32Array;
    const dst = backend.typedArrayFromHeap(out) as Float32Array;
    const n = src.length;
    const main = n - (n % 4);
    if (main > 0) {
      if (src.byteOffset === 0 || dst.byteOffset === 0) {
        backend.disposeData(out.dataId);
        throw new Error('LeakyRelu: the wasm heap is full (4 GiB at most)');
      }
      simd.leakyRelu(src.byteOffset, dst.byteOffset, 4 * main, float32Bits(alpha));
    }
    const a = Math.fround(alpha);
    for (let i = main; i < n; i++) {
      const v = src[i]!;
      dst[i] = v < 0 ? a * v : v;
    }
    return out;
  }) as KernelFunc;
}
