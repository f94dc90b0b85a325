// ---------------------------------------------------------------------------------------------------
// Conv2DBackpropFilter from matrix products (wasm: XNNPACK), for any backend with Reshape/Transpose/
// BatchMatMul/Slice/Add.
//
// dW [kh·kw·Ci, Co] = Σ over chunks of output rows: Xcolᵀ [kh·kw·Ci, n] · dY [n, Co], where row
// (i, j, ci) of Xcolᵀ holds the input value each output position of the chunk reads through tap (i, j)
// in channel ci (zero in the padding). Row-major [kh·kw·Ci, Co] is the filter layout [kh, kw, Ci, Co].
// - All taps in one product: fewer, larger products, and the result needs no concatenation.
// - Big layers are split into chunks of output rows whose partial products are summed, so that the
//   transient Xcolᵀ stays under 64 MiB (the wasm heap is 4 GiB at most). Measured here, XNNPACK's
//   product runs at the same speed (±5 %, within this machine's noise) as one product, one per tap, or
//   4–16 chunks; building Xcolᵀ is what costs.
// Building Xcolᵀ: the input is transposed once to channel-major [Ci, B, H, W]; with stride s > 1 it is
// then split into its s×s phase images ([Ci, B, sh, sw, ⌈H/sh⌉, ⌈W/sw⌉], zero-filled at the ragged
// edge), so that every tap reads its phase image with stride 1. When the output width equals the
// (phase) image width — "same" convs, and 3×3 stride-2 pad-1 on even sizes: almost every layer — output
// row oh+1 of a tap reads the source row after the one row oh reads, so all rows of one channel and image
// are ONE contiguous copy (then the few out-of-image columns are zeroed) instead of one copy per row.
// Measured (2,32,32,128, 3×3, same; `bench/profile-step.ts`): per-row copies made building Xcolᵀ take as
// long as the product itself.
// ---------------------------------------------------------------------------------------------------
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { wasmGemmFor, type WasmGemm } from '../wasm-gemm.js';
import { heapMemory, heapOffset } from '../wasm-heap.js';
import { wasmWinogradFilterGrad } from '../wasm-winograd.js';
import { type Backend, type KernelFunc, Scratch, type TensorInfo, allocate, conv2DInfo, isWasm, kernel, kernelOf, replaced, run, view } from './common.js';

/** Floats in one product's left operand at most (64 MiB): bounds the transient Xcolᵀ on big layers. */
let filterGradBlock = 1 << 24;

/** For tests: a small block exercises the chunked path on small layers. Returns the previous value. */
export function setFilterGradBlockForTests(floats: number): number {
  const previous = filterGradBlock;
  filterGradBlock = floats;
  return previous;
}

/**
 * Copies within or between float32 tensors by element index. On wasm both live in one heap, where
 * `copyWithin` moves memory without making a view per run; elsewhere `set` of a subarray.
 */
interface Copier {
  /** Copy `len` floats from source index `s` to destination index `d`. */
  copy(d: number, s: number, len: number): void;
  zero(d: number, len: number): void;
  set0(d: number): void;
}

function copier(backend: Backend, src: TensorInfo, dst: Float32Array): Copier {
  const srcView = view(backend, src);
  if (srcView.buffer === dst.buffer) {
    const heap = new Float32Array(dst.buffer);
    const so = srcView.byteOffset >>> 2;
    const dof = dst.byteOffset >>> 2;
    return {
      copy: (d, s, len) => void heap.copyWithin(dof + d, so + s, so + s + len),
      zero: (d, len) => void heap.fill(0, dof + d, dof + d + len),
      set0: (d) => void (heap[dof + d] = 0),
    };
  }
  return {
    copy: (d, s, len) => dst.set(srcView.subarray(s, s + len), d),
    zero: (d, len) => void dst.fill(0, d, d + len),
    set0: (d) => void (dst[d] = 0),
  };
}

/** The s×s phase images of channel-major xT [Ci·B, H, W]: [Ci·B, sh, sw, ⌈H/sh⌉, ⌈W/sw⌉], zero past the edge. */
function phaseImages(backend: Backend, xT: TensorInfo, sh: number, sw: number): TensorInfo {
  const [CB, H, W] = xT.shape as [number, number, number];
  const Hq = Math.ceil(H / sh);
  const Wq = Math.ceil(W / sw);
  return allocate(backend, [CB, sh, sw, Hq, Wq], (dst) => {
    const src = view(backend, xT);
    let o = 0;
    for (let cb = 0; cb < CB; cb++) {
      const img = cb * H * W;
      for (let p = 0; p < sh; p++) {
        for (let q = 0; q < sw; q++) {
          const inside = q < W ? Math.floor((W - 1 - q) / sw) + 1 : 0; // columns w with w·sw + q < W
          for (let h = 0; h < Hq; h++) {
            const row = h * sh + p;
            if (row >= H) {
              dst.fill(0, o, o + Wq);
              o += Wq;
              continue;
            }
            let si = img + row * W + q;
            const end = o + inside;
            while (o < end) {
              dst[o++] = src[si]!;
              si += sw;
            }
            if (inside < Wq) {
              dst.fill(0, o, o + Wq - inside);
              o += Wq - inside;
            }
          }
        }
      }
    }
  });
}

export function makeConv2DBackpropFilter(backendName: string): KernelFunc {
  const reshape = kernelOf('Reshape', backendName);
  const transpose = kernelOf('Transpose', backendName);
  const slice = kernelOf('Slice', backendName);
  const add = kernelOf('Add', backendName);
  // The stock product (ours may wrap it): called without transposes and batch 1, its fast path.
  const matMul = (replaced.get(`${backendName}/BatchMatMul`) ?? tf.getKernel('BatchMatMul', backendName))?.kernelFunc;
  if (!matMul) throw new Error(`kernel BatchMatMul is not registered for backend '${backendName}'`);

  const pad = backendName === 'wasm' ? tf.getKernel('PadV2', 'wasm')?.kernelFunc : undefined;
  return kernel(({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as unknown as { x: TensorInfo; dy: TensorInfo };
    const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    const info = conv2DInfo(x.shape, a.filterShape, a);
    const [B, H, W, Ci] = x.shape as [number, number, number, number];
    const [, Ho, Wo, Co] = dy.shape as [number, number, number, number];
    if (Ho !== info.outHeight || Wo !== info.outWidth || Co !== info.outChannels) {
      throw new Error(`Conv2DBackpropFilter: dy shape ${dy.shape} does not match conv output ${info.outShape}`);
    }
    const gemm = pad && isWasm(backend) ? wasmGemmFor(heapMemory(backend)) : null;
    if (gemm) {
      const byWinograd = wasmWinogradFilterGrad(backend as BackendWasm, x, dy, info, gemm);
      if (byWinograd) return byWinograd;
    }
    if (gemm && pad && filterGradByGemmTakes(x, dy, info)) return filterGradByGemm(backend as BackendWasm, gemm, pad, x, dy, info);
    const sh = info.strideHeight;
    const sw = info.strideWidth;
    const kh = info.filterHeight;
    const kw = info.filterWidth;
    const { top, left } = info.padInfo;
    const rows = kh * kw * Ci;
    const outRows = B * Ho; // output rows (b, oh), Wo pixels each
    const perChunk = Math.max(1, Math.min(outRows, Math.floor(filterGradBlock / (rows * Wo))));
    // Phase images are Hq × Wq. Tap (i, j) reads phase (p, q) = ((i − top) mod sh, (j − left) mod sw) at
    // row oh + ra and column ow + ca, ra = ⌊(i − top)/sh⌋, ca = ⌊(j − left)/sw⌋.
    const Hq = Math.ceil(H / sh);
    const Wq = Math.ceil(W / sw);
    const mod = (v: number, m: number) => ((v % m) + m) % m;
    // Per tap column j: the output columns [lo, hi) that read inside the (phase) image.
    const lo: number[] = [];
    const hi: number[] = [];
    for (let j = 0; j < kw; j++) {
      const ca = Math.floor((j - left) / sw);
      const l = Math.min(Wo, Math.max(0, -ca));
      lo.push(l);
      hi.push(Math.max(l, Math.min(Wo, Wq - ca)));
    }
    const s = new Scratch(backend);
    let acc: TensorInfo | null = null;
    try {
      const x2 = s.keep(run(reshape, { x }, backend, { shape: [B * H * W, Ci] }));
      const xT0 = s.keep(run(transpose, { x: x2 }, backend, { perm: [1, 0] })); // [Ci, B, H, W]
      const xT = sh === 1 && sw === 1 ? xT0 : s.keep(phaseImages(backend, { ...xT0, shape: [Ci * B, H, W] }, sh, sw));
      const dy2 = s.keep(run(reshape, { x: dy }, backend, { shape: [B * Ho * Wo, Co] }));
      const imgSize = Hq * Wq;
      for (let r0 = 0; r0 < outRows; r0 += perChunk) {
        const nr = Math.min(perChunk, outRows - r0);
        const n = nr * Wo;
        const cols = allocate(backend, [rows, n], (dst) => {
          const c = copier(backend, xT, dst);
          let o = 0;
          for (let i = 0; i < kh; i++) {
            const p = mod(i - top, sh);
            const ra = Math.floor((i - top) / sh);
            for (let j = 0; j < kw; j++) {
              const q = mod(j - left, sw);
              const ca = Math.floor((j - left) / sw);
              const l = lo[j]!;
              const h = hi[j]!;
              const longRuns = Wq === Wo && h > l;
              for (let ci = 0; ci < Ci; ci++) {
                // the rows of this chunk, one image b at a time: [ohA, ohB) of image b start at dst row o
                for (let r = r0; r < r0 + nr; ) {
                  const b = Math.floor(r / Ho);
                  const ohA = r - b * Ho;
                  const ohB = Math.min(Ho, ohA + (r0 + nr - r));
                  const img = (((ci * B + b) * sh + p) * sw + q) * imgSize;
                  const v0 = Math.min(ohB, Math.max(ohA, -ra));
                  const v1 = Math.max(v0, Math.min(ohB, Hq - ra));
                  const at = (oh: number) => o + (oh - ohA) * Wo;
                  if (v0 > ohA) c.zero(o, (v0 - ohA) * Wo);
                  if (ohB > v1) c.zero(at(v1), (ohB - v1) * Wo);
                  if (v1 > v0) {
                    if (h === l) {
                      c.zero(at(v0), (v1 - v0) * Wo);
                    } else if (longRuns) {
                      // one copy for all rows (row strides match), then zero each row's out-of-image columns
                      const first = at(v0) + l;
                      c.copy(first, img + (v0 + ra) * Wq + l + ca, at(v1 - 1) + h - first);
                      if (l > 0 || h < Wo) {
                        for (let oh = v0; oh < v1; oh++) {
                          const d = at(oh);
                          for (let k = 0; k < l; k++) c.set0(d + k);
                          for (let k = h; k < Wo; k++) c.set0(d + k);
                        }
                      }
                    } else {
                      for (let oh = v0; oh < v1; oh++) {
                        const d = at(oh);
                        if (l > 0) c.zero(d, l);
                        if (h < Wo) c.zero(d + h, Wo - h);
                        c.copy(d + l, img + (oh + ra) * Wq + l + ca, h - l);
                      }
                    }
                  }
                  o += (ohB - ohA) * Wo;
                  r += ohB - ohA;
                }
              }
            }
          }
        });
        let part: TensorInfo;
        try {
          const dyc = nr === outRows ? dy2 : run(slice, { x: dy2 }, backend, { begin: [r0 * Wo, 0], size: [n, Co] });
          part = run(matMul, { a: cols, b: dyc }, backend, { transposeA: false, transposeB: false }); // [rows, Co]
          if (dyc !== dy2) backend.disposeData(dyc.dataId);
        } finally {
          backend.disposeData(cols.dataId);
        }
        if (acc === null) {
          acc = part;
        } else {
          const sum = run(add, { a: acc, b: part }, backend, {});
          backend.disposeData(acc.dataId);
          backend.disposeData(part.dataId);
          acc = sum;
        }
      }
      const dw = run(reshape, { x: acc! }, backend, { shape: [kh, kw, Ci, Co] });
      backend.disposeData(acc!.dataId);
      acc = null;
      return dw;
    } finally {
      if (acc) backend.disposeData(acc.dataId);
      s.dispose();
    }
  });
}

/**
 * The grid of the padded input's sh×sw phase images: Hq × Wq pixels each (Hp ≤ sh·Hq rows, Wp ≤ sw·Wq
 * columns), Wq rounded up to a multiple of 4 when strided (each phase row is one SIMD transpose).
 */
function phaseGrid(x: TensorInfo, info: tf.backend_util.Conv2DInfo): { Hq: number; Wq: number } {
  const { top, bottom, left, right } = info.padInfo;
  const Wq = Math.ceil((x.shape[2]! + left + right) / info.strideWidth);
  return {
    Hq: Math.ceil((x.shape[1]! + top + bottom) / info.strideHeight),
    Wq: info.strideHeight > 1 || info.strideWidth > 1 ? 4 * Math.ceil(Wq / 4) : Wq,
  };
}

/**
 * Whether `filterGradByGemm` takes this layer: float32, Ci a multiple of 4 and Co of 8, not empty, pads
 * ≥ 0, and its buffers (the padded input with up to 4 spare images, its phases transposed, dy padded
 * and packed) under 2²⁶ floats (256 MiB): beyond, the chunked composite keeps the peak lower.
 */
function filterGradByGemmTakes(x: TensorInfo, dy: TensorInfo, info: tf.backend_util.Conv2DInfo): boolean {
  const [B, H, W, Ci] = x.shape as [number, number, number, number];
  const Co = info.outChannels;
  const { top, bottom, left, right } = info.padInfo;
  const { Hq, Wq } = phaseGrid(x, info);
  const phases = Math.min(info.strideHeight, info.filterHeight) * Math.min(info.strideWidth, info.filterWidth);
  const scratch = (B + 4) * Hq * Wq * (info.strideHeight * info.strideWidth * Ci + phases * Ci + 2 * Co);
  return (
    x.dtype === 'float32' &&
    dy.dtype === 'float32' &&
    Ci % 4 === 0 &&
    Co % 8 === 0 &&
    B * H * W * Ci * Co > 0 &&
    Math.min(top, bottom, left, right) >= 0 &&
    scratch <= 1 << 26
  );
}

/**
 * The filter gradient of a convolution on wasm by our matrix product (wasm-gemm.ts), without an im2col
 * matrix. Stride 1 first: with the input padded (xp, [B + e, Hp, Wp, Ci]: e ≥ 1 spare images of zeros)
 * and dy padded to the same rows and columns with zeros (dyp, [B, Hp, Wp, Co]), output pixel n of the
 * flattened padded grid reads input pixel n + i·Wp + j for tap (i, j), for every n, so
 *   dW[i, j] = xpᵀ[:, n + i·Wp + j] · dyp[n]   (a [Ci, K] · [K, Co] product over n < K = B·Hp·Wp):
 * one transpose of xp to [Ci, (B + e)·Hp·Wp], then kh·kw products whose first operand is that
 * transpose shifted by i·Wp + j columns. The zero rows and columns of dyp cancel the pixels that wrap
 * around a row or an image; the spare images keep the last taps inside xpᵀ, and make (B + e)·Hp·Wp a
 * multiple of 4 for the SIMD transpose (e ≤ 4). Needs Ci a multiple of 4 and Co of 8.
 * Stride s: tap (i, j) reads xp[s·oh + i, s·ow + j] = phase image (i mod s, j mod s) at (oh + ⌊i/s⌋,
 * ow + ⌊j/s⌋), where phase (p, q) holds xp's rows p, p + s, … and columns q, q + s, … (Hq × Wq, xp
 * padded with zeros to s·Hq × s·Wq). On the phases' grid that is stride 1 again: each phase a tap reads
 * is transposed out of xp row by row (a strided read: no phase image is made), and dy is padded to
 * Hq × Wq.
 */
function filterGradByGemm(backend: BackendWasm, gemm: WasmGemm, pad: KernelFunc, x: TensorInfo, dy: TensorInfo, info: tf.backend_util.Conv2DInfo): TensorInfo {
  const [B, H, W, Ci] = x.shape as [number, number, number, number];
  const [, Ho, Wo, Co] = dy.shape as [number, number, number, number];
  const { top, left } = info.padInfo;
  const sh = info.strideHeight;
  const sw = info.strideWidth;
  const { Hq, Wq } = phaseGrid(x, info);
  const kh = info.filterHeight;
  const kw = info.filterWidth;
  const K = B * Hq * Wq;
  let spare = 1;
  while (((B + spare) * Hq * Wq) % 4 !== 0) spare++;
  const K1 = (B + spare) * Hq * Wq;
  const s = new Scratch(backend);
  const at = (t: TensorInfo) => heapOffset(backend, t, 'Conv2DBackpropFilter');
  const out = backend.makeOutput([kh, kw, Ci, Co], 'float32');
  try {
    const paddings = [
      [0, spare],
      [top, sh * Hq - H - top],
      [left, sw * Wq - W - left],
      [0, 0],
    ];
    const xp = s.keep(run(pad, { x }, backend, { paddings, constantValue: 0 }));
    // xt[p·sw + q]: phase (p, q) transposed to [Ci, K1], for the phases some tap reads
    const xt: TensorInfo[] = [];
    for (let p = 0; p < Math.min(sh, kh); p++) {
      for (let q = 0; q < Math.min(sw, kw); q++) {
        const t = s.keep(backend.makeOutput([Ci, K1], 'float32'));
        xt[p * sw + q] = t;
        if (sh === 1 && sw === 1) {
          gemm.transpose(at(xp), at(t), K1, Ci);
          continue;
        }
        // phase row (b, r) is xp's row sh·r + p from column q on, every sw-th pixel
        const xpAt = at(xp);
        const tAt = at(t);
        for (let b = 0; b < B + spare; b++) {
          for (let r = 0; r < Hq; r++) {
            const row = xpAt + (((b * Hq + r) * sh + p) * sw * Wq + q) * Ci * 4;
            gemm.transpose(row, tAt + (b * Hq + r) * Wq * 4, Wq, Ci, sw * Ci * 4, K1);
          }
        }
      }
    }
    const dyp = s.keep(
      run(pad, { x: dy }, backend, {
        paddings: [
          [0, 0],
          [0, Hq - Ho],
          [0, Wq - Wo],
          [0, 0],
        ],
        constantValue: 0,
      }),
    );
    const bp = s.keep(backend.makeOutput([K, Co], 'float32'));
    gemm.pack(at(dyp), at(bp), K, Co);
    const bAt = at(bp);
    const outAt = at(out);
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const a = at(xt[(i % sh) * sw + (j % sw)]!) + (Math.floor(i / sh) * Wq + Math.floor(j / sw)) * 4;
        gemm.mul(a, bAt, outAt + (i * kw + j) * Ci * Co * 4, Ci, Co, K, K1 * 4);
      }
    }
    return out;
  } catch (e) {
    backend.disposeData(out.dataId);
    throw e;
  } finally {
    s.dispose();
  }
}
