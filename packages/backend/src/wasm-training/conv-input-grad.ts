// ---------------------------------------------------------------------------------------------------
// Conv2DBackpropInput on wasm, as a stride-1 Conv2D of dy with the spatially flipped kernel, in/out
// channels swapped: XNNPACK's, or Winograd F(2×2, 3×3) for big 3×3 layers. The flip runs as a JS loop
// on the wasm heap: wasm's Reverse/Gather kernels are slower.
//
// Stride s > 1, by phases: input row h only receives taps i ≡ (h + top) mod s, so each of the s×s phases
// (ph, pw) of dx is a stride-1 conv of dy with the sub-kernel of those taps, and the phases interleave
// into dx. That does the convolution's own multiply-adds; a conv over dy with s−1 zeros inserted between
// pixels (one call, no interleave) does s² times as many (4× for stride 2).
// ---------------------------------------------------------------------------------------------------
import type * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { wasmWinogradInputGrad } from '../wasm-winograd.js';
import { type KernelFunc, Scratch, type TensorInfo, allocate, conv2DInfo, kernel, kernelOf, replaced, run } from './common.js';

/**
 * `conv2d(x, f)`, stride 1, with explicit pads that may be negative (a crop): by Winograd F(2×2, 3×3)
 * where the layer takes it (wasmWinogradInputGrad), else by the stock convolution.
 */
function convPadded(
  k: { conv: KernelFunc; slice: KernelFunc; matMul: KernelFunc },
  backend: BackendWasm,
  s: Scratch,
  x: TensorInfo,
  f: TensorInfo,
  pads: { t: number; b: number; l: number; r: number },
): TensorInfo {
  let z = x;
  let { t, b, l, r } = pads;
  if (t < 0 || b < 0 || l < 0 || r < 0) {
    const begin = [0, Math.max(0, -t), Math.max(0, -l), 0];
    const size = [x.shape[0]!, x.shape[1]! - begin[1]! - Math.max(0, -b), x.shape[2]! - begin[2]! - Math.max(0, -r), x.shape[3]!];
    z = s.keep(run(k.slice, { x }, backend, { begin, size }));
    t = Math.max(0, t);
    b = Math.max(0, b);
    l = Math.max(0, l);
    r = Math.max(0, r);
  }
  const wino = wasmWinogradInputGrad(backend, k.matMul, z, f, { top: t, bottom: b, left: l, right: r });
  if (wino) return wino;
  return run(k.conv, { x: z, filter: f }, backend, {
    strides: 1,
    pad: [
      [0, 0],
      [t, b],
      [l, r],
      [0, 0],
    ],
    dataFormat: 'NHWC',
    dilations: 1,
    dimRoundingMode: undefined,
  });
}

/**
 * The flipped, in/out-swapped sub-kernel [kth, ktw, Co, Ci] of taps i = ph + sh·(kth−1−u),
 * j = pw + sw·(ktw−1−v) for u < kth, v < ktw.
 */
function flippedSubKernel(backend: BackendWasm, filter: TensorInfo, ph: number, pw: number, sh: number, sw: number, kth: number, ktw: number): TensorInfo {
  const [, kw, Ci, Co] = filter.shape as [number, number, number, number];
  const ft = backend.makeOutput([kth, ktw, Co, Ci], 'float32');
  // Views are taken after the allocation: allocating may grow (and detach) the heap.
  const src = backend.typedArrayFromHeap(filter) as Float32Array;
  const dst = backend.typedArrayFromHeap(ft) as Float32Array;
  for (let u = 0; u < kth; u++) {
    for (let v = 0; v < ktw; v++) {
      const sb = ((ph + sh * (kth - 1 - u)) * kw + (pw + sw * (ktw - 1 - v))) * Ci * Co;
      const db = (u * ktw + v) * Co * Ci;
      for (let i = 0; i < Ci; i++) {
        const si = sb + i * Co;
        for (let j = 0; j < Co; j++) dst[db + j * Ci + i] = src[si + j]!;
      }
    }
  }
  return ft;
}

export function makeWasmConv2DBackpropInput(): KernelFunc {
  // Each stride-1 conv (convPadded): Winograd F(2×2, 3×3) where the layer is big enough (wasm-winograd.ts
  // says why not F(4×4, 3×3)); else XNNPACK's direct convolution, the stock kernel under our Winograd Conv2D.
  const stockConv = replaced.get('wasm/Conv2D')?.kernelFunc ?? kernelOf('Conv2D', 'wasm');
  const matMul = replaced.get('wasm/BatchMatMul')?.kernelFunc ?? kernelOf('BatchMatMul', 'wasm');
  const k = { conv: stockConv, slice: kernelOf('Slice', 'wasm'), matMul };

  return kernel<BackendWasm>(({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as unknown as { dy: TensorInfo; filter: TensorInfo };
    const a = attrs as unknown as tf.Conv2DBackpropInputAttrs;
    const info = conv2DInfo(a.inputShape, filter.shape, a);
    const [B, H, W, Ci] = a.inputShape;
    const [, Ho, Wo] = dy.shape as [number, number, number, number];
    const sh = info.strideHeight;
    const sw = info.strideWidth;
    const kh = info.filterHeight;
    const kw = info.filterWidth;
    const { top, left } = info.padInfo;
    const s = new Scratch(backend);
    try {
      if (sh === 1 && sw === 1) {
        const ft = s.keep(flippedSubKernel(backend, filter, 0, 0, 1, 1, kh, kw));
        return convPadded(k, backend, s, dy, ft, { t: kh - 1 - top, b: H + top - Ho, l: kw - 1 - left, r: W + left - Wo });
      }
      // Phase (ph, pw): input rows h = q·sh + ph − top for q in [q0, q1] (columns likewise), each the
      // sum over its taps of dy[q − t]·w[ph + sh·t]: a stride-1 conv with kth = ⌈(kh − ph)/sh⌉ taps.
      const phase = (p: number, stride: number, pad: number, size: number, kSize: number, outSize: number) => {
        const q0 = Math.ceil((pad - p) / stride);
        const q1 = Math.floor((size - 1 + pad - p) / stride);
        const kt = Math.max(0, Math.ceil((kSize - p) / stride));
        const n = Math.max(0, q1 - q0 + 1);
        // conv output r = q − q0 reads dy[r + q0 − kt + 1 + u]: pad kt − 1 − q0 before, the rest after.
        const before = kt - 1 - q0;
        return { q0, n, kt, before, after: n + kt - 1 - outSize - before, first: q0 * stride + p - pad };
      };
      const dx = s.keep(allocate(backend, [B, H, W, Ci], (d) => d.fill(0)));
      for (let ph = 0; ph < sh; ph++) {
        const rows = phase(ph, sh, top, H, kh, Ho);
        if (rows.n === 0 || rows.kt === 0) continue;
        for (let pw = 0; pw < sw; pw++) {
          const cols = phase(pw, sw, left, W, kw, Wo);
          if (cols.n === 0 || cols.kt === 0) continue;
          const ft = flippedSubKernel(backend, filter, ph, pw, sh, sw, rows.kt, cols.kt);
          let part: TensorInfo;
          try {
            part = convPadded(k, backend, s, dy, ft, { t: rows.before, b: rows.after, l: cols.before, r: cols.after });
          } finally {
            backend.disposeData(ft.dataId);
          }
          try {
            // Interleave: part [B, rows.n, cols.n, Ci] → dx rows first + sh·r, columns first + sw·c.
            const src = backend.typedArrayFromHeap(part) as Float32Array;
            const dst = backend.typedArrayFromHeap(dx) as Float32Array;
            let o = 0;
            for (let b = 0; b < B; b++) {
              for (let r = 0; r < rows.n; r++) {
                const rowBase = (b * H + rows.first + sh * r) * W;
                for (let c = 0; c < cols.n; c++, o += Ci) {
                  dst.set(src.subarray(o, o + Ci), (rowBase + cols.first + sw * c) * Ci);
                }
              }
            }
          } finally {
            backend.disposeData(part.dataId);
          }
        }
      }
      return run(kernelOf('Reshape', 'wasm'), { x: dx }, backend, { shape: [B, H, W, Ci] });
    } finally {
      s.dispose();
    }
  });
}
