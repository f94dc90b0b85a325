/**
 * Kernels that make training work (and run fast) on the tfjs wasm backend, plus a correctness fix for
 * the cpu backend. Every registration is explicit and idempotent; nothing happens at import.
 *
 * What tfjs-backend-wasm 4.22 lacks or does slowly for a GAN (measured, see bench/conv.ts):
 * - `Conv2DBackpropFilter` is missing: composed here of wasm kernels, one XNNPACK matmul per kernel tap;
 *   by our matrix product over shifted views (strided layers: of their phase images), and by Winograd
 *   F(3×3, 4×4) for big 3×3 stride-1 layers (wasm-winograd.ts: 1.5–2.9× faster than the product alone
 *   where it is used).
 * - `Conv2DBackpropInput` is a direct loop: replaced by XNNPACK `Conv2D`s of `dy` (strided layers: by
 *   phases), and by Winograd F(2×2, 3×3) for big 3×3 stride-1 layers (wasm-winograd.ts).
 * - `BatchMatMul`/`_FusedMatMul` leave XNNPACK for a slow loop when transposed or batched: transposes are
 *   done explicitly first and batches are split into single XNNPACK products.
 * - `UnsortedSegmentSum` (gradient of `gather`), depthwise-conv gradients and `Einsum` are missing: rare
 *   for us, so they run the cpu backend's kernel on copies (`registerCpuFallback`).
 * - `ResizeNearestNeighborGrad`/`ResizeBilinearGrad` ignore `halfPixelCenters`: fixed for that case.
 * - `Identity` copies: replaced by a shared reference (tfjs clones every tensor it saves for gradients).
 * - `SplitV` slices element by element: replaced by contiguous copies for float32.
 * - 3×3 stride-1 `Conv2D` runs at XNNPACK's no-FMA ceiling: big ones go through Winograd F(4×4, 3×3)
 *   (wasm-winograd.ts), 1.1–2.4× faster where it is used.
 * The cpu backend's resize gradients (tfjs-backend-cpu 4.22) are wrong for batch > 1 (nearest) and
 * non-square images (bilinear); `registerCpuTrainingKernels` replaces them.
 *
 * Ownership: every kernel here disposes each intermediate it makes (`backend.disposeData`) and returns
 * only its output, as tfjs kernels must.
 *
 * One file per kernel family in `wasm-training/`; this file registers them.
 */
import * as tf from '@tensorflow/tfjs';
import { makeWasmLeakyRelu, makeWasmReduce } from './wasm-elementwise.js';
import { makeWasmWinogradConv2D } from './wasm-winograd.js';
import { install, isOurs, replaced } from './wasm-training/common.js';
import { makeConv2DBackpropFilter } from './wasm-training/conv-filter-grad.js';
import { makeWasmConv2DBackpropInput } from './wasm-training/conv-input-grad.js';
import { WASM_CPU_FALLBACK_KERNELS, registerCpuFallback } from './wasm-training/cpu-fallback.js';
import { makeWasmSharedIdentity, makeWasmSplitV } from './wasm-training/identity-split.js';
import { makeWasmBatchMatMul, makeWasmFusedMatMul } from './wasm-training/matmul.js';
import { resizeBilinearGrad, resizeNearestNeighborGrad, withHalfPixelFix } from './wasm-training/resize-grad.js';

export { restoreStockKernels } from './wasm-training/common.js';
export { registerCpuFallback, WASM_CPU_FALLBACK_KERNELS } from './wasm-training/cpu-fallback.js';

// ---------------------------------------------------------------------------------------------------
// Public registrations.
// ---------------------------------------------------------------------------------------------------

/**
 * Registers the wasm training kernels (filter/input conv gradients, explicit-transpose matmuls, cpu
 * fallbacks). Idempotent. Needs `@tensorflow/tfjs-backend-wasm` imported (its kernels registered); the
 * backend itself need not be initialised yet.
 */
export function registerWasmTrainingKernels(): void {
  if (!tf.getKernel('Conv2D', 'wasm')) {
    throw new Error("registerWasmTrainingKernels: import '@tensorflow/tfjs-backend-wasm' first");
  }
  // The input gradient (below) calls the stock convolution or its own Winograd: see makeWasmConv2DBackpropInput.
  const conv = tf.getKernel('Conv2D', 'wasm')!;
  const stockMatMul = replaced.get('wasm/BatchMatMul') ?? tf.getKernel('BatchMatMul', 'wasm');
  if (!isOurs('Conv2D', 'wasm') && stockMatMul) {
    install('Conv2D', 'wasm', makeWasmWinogradConv2D(conv.kernelFunc, stockMatMul.kernelFunc), conv.setupFunc);
  }
  const id = tf.getKernel('Identity', 'wasm');
  if (id && !isOurs('Identity', 'wasm')) install('Identity', 'wasm', makeWasmSharedIdentity(id), id.setupFunc);
  const mm = tf.getKernel('BatchMatMul', 'wasm');
  if (mm && !isOurs('BatchMatMul', 'wasm')) install('BatchMatMul', 'wasm', makeWasmBatchMatMul(mm), mm.setupFunc);
  const fmm = tf.getKernel('_FusedMatMul', 'wasm');
  if (fmm && !isOurs('_FusedMatMul', 'wasm')) install('_FusedMatMul', 'wasm', makeWasmFusedMatMul(fmm), fmm.setupFunc);
  if (!isOurs('Conv2DBackpropFilter', 'wasm')) install('Conv2DBackpropFilter', 'wasm', makeConv2DBackpropFilter('wasm'));
  const bi = tf.getKernel('Conv2DBackpropInput', 'wasm');
  if (!isOurs('Conv2DBackpropInput', 'wasm')) install('Conv2DBackpropInput', 'wasm', makeWasmConv2DBackpropInput(), bi?.setupFunc);
  for (const [name, fix] of [
    ['ResizeNearestNeighborGrad', resizeNearestNeighborGrad],
    ['ResizeBilinearGrad', resizeBilinearGrad],
  ] as const) {
    const stock = tf.getKernel(name, 'wasm');
    if (stock && !isOurs(name, 'wasm')) install(name, 'wasm', withHalfPixelFix(stock, fix), stock.setupFunc);
  }
  const leaky = tf.getKernel('LeakyRelu', 'wasm');
  if (leaky && !isOurs('LeakyRelu', 'wasm')) install('LeakyRelu', 'wasm', makeWasmLeakyRelu(leaky.kernelFunc), leaky.setupFunc);
  for (const name of ['Sum', 'Mean'] as const) {
    const k = tf.getKernel(name, 'wasm');
    if (k && !isOurs(name, 'wasm')) install(name, 'wasm', makeWasmReduce(name, k.kernelFunc), k.setupFunc);
  }
  const split = tf.getKernel('SplitV', 'wasm');
  if (split && !isOurs('SplitV', 'wasm')) install('SplitV', 'wasm', makeWasmSplitV(split), split.setupFunc);
  registerCpuFallback(WASM_CPU_FALLBACK_KERNELS, 'wasm');
}

export interface CpuTrainingKernelOptions {
  /**
   * Replace the cpu backend's `Conv2DBackpropFilter` (a direct loop, ≈0.02 GFLOP/s) by the composite of
   * cpu kernels used on wasm (per-tap matmuls). Same results within float rounding. Default false.
   */
  fastConvFilterGrad?: boolean;
}

/** Registers the cpu backend fixes (and, optionally, the faster filter gradient). Idempotent. */
export function registerCpuTrainingKernels(options: CpuTrainingKernelOptions = {}): void {
  if (!isOurs('ResizeNearestNeighborGrad', 'cpu')) install('ResizeNearestNeighborGrad', 'cpu', resizeNearestNeighborGrad);
  if (!isOurs('ResizeBilinearGrad', 'cpu')) install('ResizeBilinearGrad', 'cpu', resizeBilinearGrad);
  if (options.fastConvFilterGrad && !isOurs('Conv2DBackpropFilter', 'cpu')) {
    install('Conv2DBackpropFilter', 'cpu', makeConv2DBackpropFilter('cpu'));
  }
}
