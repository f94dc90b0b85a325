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
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { makeWasmLeakyRelu, makeWasmReduce } from './wasm-elementwise.js';
import { wasmGemmFor, type WasmGemm } from './wasm-gemm.js';
import { heapMemory, heapOffset } from './wasm-heap.js';
import { makeWasmWinogradConv2D, wasmWinogradFilterGrad, wasmWinogradInputGrad } from './wasm-winograd.js';

type TensorInfo = tf.TensorInfo;
type KernelFunc = tf.KernelFunc;
type Backend = tf.KernelBackend;
type Attrs = tf.NamedAttrMap;
/** A kernel body with the backend typed (tfjs types it as `{}`). */
type KernelBody<B extends Backend = Backend> = (args: { inputs: tf.NamedTensorInfoMap; backend: B; attrs: Attrs }) => TensorInfo | TensorInfo[];
const kernel = <B extends Backend>(body: KernelBody<B>): KernelFunc =>
  ((args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: Attrs }) =>
    body({ inputs: args.inputs, backend: args.backend as B, attrs: args.attrs ?? {} })) as KernelFunc;

/** Marks kernels registered by RAGAN, so a second registration (or a second copy of core) skips them. */
const MARK = Symbol.for('ragan.kernel');

/** Stock kernel configs we replaced, by `${backend}/${kernel}`; `null` = there was none. */
const replaced = new Map<string, tf.KernelConfig | null>();

function isOurs(kernelName: string, backendName: string): boolean {
  const k = tf.getKernel(kernelName, backendName);
  return k != null && (k.kernelFunc as unknown as Record<symbol, unknown>)[MARK] === true;
}

/** Registers `kernelFunc` for (kernelName, backendName) unless ours is already there; keeps the stock one. */
function install(kernelName: string, backendName: string, kernelFunc: KernelFunc, setupFunc?: tf.KernelConfig['setupFunc']): void {
  if (isOurs(kernelName, backendName)) return;
  const stock = tf.getKernel(kernelName, backendName);
  const key = `${backendName}/${kernelName}`;
  if (!replaced.has(key)) replaced.set(key, stock ?? null);
  if (stock) tf.unregisterKernel(kernelName, backendName);
  Object.defineProperty(kernelFunc, MARK, { value: true });
  const config: tf.KernelConfig = { kernelName, backendName, kernelFunc };
  if (setupFunc) config.setupFunc = setupFunc;
  tf.registerKernel(config);
}

/**
 * Puts back the kernels that `register*` replaced (for benchmarks and tests that compare against stock).
 * With `backendName`, only that backend's.
 */
export function restoreStockKernels(backendName?: string): void {
  for (const [key, stock] of replaced) {
    const slash = key.indexOf('/');
    const be = key.slice(0, slash);
    const name = key.slice(slash + 1);
    if (backendName !== undefined && be !== backendName) continue;
    if (isOurs(name, be)) tf.unregisterKernel(name, be);
    if (stock && !tf.getKernel(name, be)) tf.registerKernel(stock);
    replaced.delete(key);
  }
}

function kernelOf(kernelName: string, backendName: string): KernelFunc {
  const k = tf.getKernel(kernelName, backendName);
  if (!k) throw new Error(`kernel ${kernelName} is not registered for backend '${backendName}'`);
  return k.kernelFunc;
}

/** Runs a kernel that returns one tensor. */
function run(k: KernelFunc, inputs: Record<string, TensorInfo> | TensorInfo[], backend: Backend, attrs: object): TensorInfo {
  const out = k({ inputs: inputs as tf.NamedTensorInfoMap, backend, attrs: attrs as Attrs });
  if (Array.isArray(out)) throw new Error('expected a kernel with one output');
  return out;
}

/** Collects intermediates and disposes them in one place (also on error). */
class Scratch {
  private readonly items: TensorInfo[] = [];
  constructor(private readonly backend: Backend) {}
  keep(t: TensorInfo): TensorInfo {
    this.items.push(t);
    return t;
  }
  dispose(): void {
    for (const t of this.items) this.backend.disposeData(t.dataId);
    this.items.length = 0;
  }
}

const prod = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

function conv2DInfo(
  xShape: readonly number[],
  filterShape: readonly number[],
  attrs: { strides: number | [number, number]; pad: unknown; dimRoundingMode?: unknown; dataFormat?: string },
): tf.backend_util.Conv2DInfo {
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC') {
    throw new Error(`RAGAN training kernels support dataFormat 'NHWC' only, got '${attrs.dataFormat}'`);
  }
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad as 'same' | 'valid' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false,
    'channelsLast',
  );
}

// ---------------------------------------------------------------------------------------------------
// Direct memory access: the wasm heap (no copies) or the cpu backend's arrays.
// ---------------------------------------------------------------------------------------------------
function isWasm(backend: Backend): backend is BackendWasm {
  return typeof (backend as Partial<BackendWasm>).typedArrayFromHeap === 'function';
}

/** The float32 values of `t`, read-only. On wasm a heap view: take it after any allocation. */
function view(backend: Backend, t: TensorInfo): Float32Array {
  return (isWasm(backend) ? backend.typedArrayFromHeap(t) : backend.readSync(t.dataId)) as Float32Array;
}

/** A new float32 tensor whose every element `fill` writes (wasm: straight into the heap). */
function allocate(backend: Backend, shape: number[], fill: (dst: Float32Array) => void): TensorInfo {
  if (isWasm(backend)) {
    const out = backend.makeOutput(shape, 'float32');
    fill(backend.typedArrayFromHeap(out) as Float32Array);
    return out;
  }
  const dst = new Float32Array(prod(shape));
  fill(dst);
  return { dataId: backend.write(dst, shape, 'float32'), shape, dtype: 'float32' };
}

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

function makeConv2DBackpropFilter(backendName: string): KernelFunc {
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

function makeWasmConv2DBackpropInput(): KernelFunc {
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

// ---------------------------------------------------------------------------------------------------
// BatchMatMul / _FusedMatMul on wasm: XNNPACK only serves the untransposed, unbatched case.
// ---------------------------------------------------------------------------------------------------

/** Below this many multiply-adds per product, splitting a batch costs more than the slow loop. */
const MIN_SPLIT_MACS = 1 << 15;

function transposeLast2(transpose: KernelFunc, x: TensorInfo, backend: Backend): TensorInfo {
  const r = x.shape.length;
  const perm = [...Array(r).keys()];
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return run(transpose, { x }, backend, { perm });
}

function makeWasmBatchMatMul(stock: tf.KernelConfig): KernelFunc {
  const transpose = kernelOf('Transpose', 'wasm');
  const reshape = kernelOf('Reshape', 'wasm');
  const slice = kernelOf('Slice', 'wasm');
  const concat = kernelOf('Concat', 'wasm');
  const mm = stock.kernelFunc;
  const plain = { transposeA: false, transposeB: false };

  return kernel(({ inputs, backend, attrs }) => {
    let { a, b } = inputs as unknown as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
    const s = new Scratch(backend);
    try {
      if (transposeA) a = s.keep(transposeLast2(transpose, a, backend));
      if (transposeB) b = s.keep(transposeLast2(transpose, b, backend));
      const M = a.shape[a.shape.length - 2]!;
      const K = a.shape[a.shape.length - 1]!;
      const N = b.shape[b.shape.length - 1]!;
      const outerA = a.shape.slice(0, -2);
      const outerB = b.shape.slice(0, -2);
      const batchA = prod(outerA);
      const batchB = prod(outerB);
      if (batchA <= 1 && batchB <= 1) return run(mm, { a, b }, backend, { ...attrs, ...plain });
      const outShape = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB).concat([M, N]);
      if (batchB === 1) {
        // One product [batchA·M, K]·[K, N]: rows of all batches share b.
        const a2 = s.keep(run(reshape, { x: a }, backend, { shape: [batchA * M, K] }));
        const b2 = s.keep(run(reshape, { x: b }, backend, { shape: [K, N] }));
        const y = s.keep(run(mm, { a: a2, b: b2 }, backend, plain));
        return run(reshape, { x: y }, backend, { shape: outShape });
      }
      if ((batchA !== 1 && batchA !== batchB) || M * K * N < MIN_SPLIT_MACS) {
        return run(mm, { a, b }, backend, { ...attrs, ...plain });
      }
      const a3 = s.keep(run(reshape, { x: a }, backend, { shape: [batchA, M, K] }));
      const b3 = s.keep(run(reshape, { x: b }, backend, { shape: [batchB, K, N] }));
      const a2 = batchA === 1 ? s.keep(run(reshape, { x: a3 }, backend, { shape: [M, K] })) : null;
      const parts: TensorInfo[] = [];
      for (let i = 0; i < batchB; i++) {
        let ai = a2;
        if (!ai) {
          const sa = s.keep(run(slice, { x: a3 }, backend, { begin: [i, 0, 0], size: [1, M, K] }));
          ai = s.keep(run(reshape, { x: sa }, backend, { shape: [M, K] }));
        }
        const sb = s.keep(run(slice, { x: b3 }, backend, { begin: [i, 0, 0], size: [1, K, N] }));
        const bi = s.keep(run(reshape, { x: sb }, backend, { shape: [K, N] }));
        parts.push(s.keep(run(mm, { a: ai, b: bi }, backend, plain)));
      }
      const cat = s.keep(run(concat, parts, backend, { axis: 0 }));
      return run(reshape, { x: cat }, backend, { shape: outShape });
    } finally {
      s.dispose();
    }
  });
}

function makeWasmFusedMatMul(stock: tf.KernelConfig): KernelFunc {
  const transpose = kernelOf('Transpose', 'wasm');
  return kernel(({ inputs, backend, attrs }) => {
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    if (!transposeA && !transposeB) return stock.kernelFunc({ inputs, backend, attrs });
    const { a, b } = inputs as unknown as { a: TensorInfo; b: TensorInfo };
    const s = new Scratch(backend);
    try {
      const a2 = transposeA ? s.keep(transposeLast2(transpose, a, backend)) : a;
      const b2 = transposeB ? s.keep(transposeLast2(transpose, b, backend)) : b;
      return stock.kernelFunc({
        inputs: { ...inputs, a: a2, b: b2 },
        backend,
        attrs: { ...attrs, transposeA: false, transposeB: false },
      });
    } finally {
      s.dispose();
    }
  });
}

// ---------------------------------------------------------------------------------------------------
// Generic cpu fallback: copy inputs to the cpu backend, run its kernel, copy the outputs back.
// ---------------------------------------------------------------------------------------------------

/** Kernels the GAN may touch that tfjs-backend-wasm 4.22 lacks and that are too rare to write for wasm. */
export const WASM_CPU_FALLBACK_KERNELS: readonly string[] = [
  'UnsortedSegmentSum', // gradient of gather (embeddings)
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'Einsum',
];

function cpuBackend(): Backend {
  const cpu = tf.engine().findBackend('cpu');
  if (!cpu) throw new Error("the cpu backend is not registered (import '@tensorflow/tfjs')");
  // We use cpu as an implementation detail: its "install tfjs-node" banner would mislead.
  (cpu as unknown as { firstUse?: boolean }).firstUse = false;
  return cpu;
}

/**
 * For each kernel in `names` that `backendName` lacks and the cpu backend has, registers a kernel that
 * runs the cpu one on copies of the inputs. Correct but slow (copies both ways, cpu speed): only for
 * kernels that are rare in a training step.
 */
export function registerCpuFallback(names: readonly string[], backendName = 'wasm'): string[] {
  const added: string[] = [];
  for (const name of names) {
    const cpuKernel = tf.getKernel(name, 'cpu');
    if (!cpuKernel || tf.getKernel(name, backendName)) continue;
    const kernelFunc = kernel(({ inputs, backend, attrs }) => {
      const cpu = cpuBackend();
      const made: tf.DataId[] = [];
      const copy = (t: TensorInfo | null | undefined): TensorInfo | null | undefined => {
        if (t == null) return t;
        const dataId = cpu.write(backend.readSync(t.dataId), t.shape, t.dtype);
        made.push(dataId);
        return { dataId, shape: t.shape, dtype: t.dtype };
      };
      try {
        const cpuInputs = Array.isArray(inputs) ? (inputs as TensorInfo[]).map(copy) : Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, copy(t)]));
        const out = cpuKernel.kernelFunc({ inputs: cpuInputs as tf.NamedTensorInfoMap, backend: cpu, attrs: attrs ?? {} });
        const outs = Array.isArray(out) ? out : [out];
        const results = outs.map((o) => {
          const values = cpu.readSync(o.dataId);
          cpu.disposeData(o.dataId);
          return { dataId: backend.write(values, o.shape, o.dtype), shape: o.shape, dtype: o.dtype };
        });
        return Array.isArray(out) ? results : results[0]!;
      } finally {
        for (const id of made) cpu.disposeData(id);
      }
    });
    install(name, backendName, kernelFunc);
    added.push(name);
  }
  return added;
}

// ---------------------------------------------------------------------------------------------------
// Resize gradients as exact adjoints of the cpu forward kernels (same source-index arithmetic), for any
// backend. tfjs-backend-cpu 4.22: ResizeNearestNeighborGrad reads dy at the wrong offset for batch > 1,
// ResizeBilinearGrad returns [B, W, H, C] (wrong for non-square images); both ignore halfPixelCenters,
// as do the wasm ones (which are otherwise right, so wasm keeps them when halfPixelCenters is false).
// ---------------------------------------------------------------------------------------------------
function resizeRatio(inSize: number, outSize: number, alignCorners: boolean): number {
  return alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
}

function nearestSource(i: number, ratio: number, size: number, alignCorners: boolean, halfPixelCenters: boolean): number {
  const frac = halfPixelCenters ? ratio * (i + 0.5) : ratio * i;
  const n = Math.min(size - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
  return halfPixelCenters ? Math.max(0, n) : n;
}

/** Source rows (or columns) of bilinear interpolation: floor, ceil and the weight of ceil. */
function bilinearSources(outSize: number, inSize: number, ratio: number, halfPixelCenters: boolean) {
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const frac = new Float64Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const f = halfPixelCenters ? ratio * (i + 0.5) - 0.5 : ratio * i;
    lo[i] = Math.max(0, Math.floor(f));
    hi[i] = Math.min(inSize - 1, Math.ceil(f));
    frac[i] = f - lo[i]!;
  }
  return { lo, hi, frac };
}

const resizeNearestNeighborGrad = kernel(({ inputs, backend, attrs }) => {
  const { images, dy } = inputs as unknown as { images: TensorInfo; dy: TensorInfo };
  const { alignCorners, halfPixelCenters } = attrs as unknown as tf.ResizeNearestNeighborGradAttrs;
  const [batch, inH, inW, depth] = images.shape as [number, number, number, number];
  const [, outH, outW] = dy.shape as [number, number, number, number];
  const dyValues = backend.readSync(dy.dataId) as Float32Array;
  const dx = new Float32Array(batch * inH * inW * depth);
  const rowRatio = resizeRatio(inH, outH, alignCorners);
  const colRatio = resizeRatio(inW, outW, alignCorners);
  const srcCol = new Int32Array(outW);
  for (let c = 0; c < outW; c++) srcCol[c] = nearestSource(c, colRatio, inW, alignCorners, halfPixelCenters);
  let o = 0;
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < outH; r++) {
      const rowBase = (b * inH + nearestSource(r, rowRatio, inH, alignCorners, halfPixelCenters)) * inW;
      for (let c = 0; c < outW; c++) {
        const base = (rowBase + srcCol[c]!) * depth;
        for (let d = 0; d < depth; d++) dx[base + d] = dx[base + d]! + dyValues[o++]!;
      }
    }
  }
  return { dataId: backend.write(dx, images.shape, 'float32'), shape: images.shape, dtype: 'float32' };
});

const resizeBilinearGrad = kernel(({ inputs, backend, attrs }) => {
  const { images, dy } = inputs as unknown as { images: TensorInfo; dy: TensorInfo };
  const { alignCorners, halfPixelCenters } = attrs as unknown as tf.ResizeBilinearGradAttrs;
  const [batch, inH, inW, depth] = images.shape as [number, number, number, number];
  const [, outH, outW] = dy.shape as [number, number, number, number];
  const dyValues = backend.readSync(dy.dataId) as Float32Array;
  const dx = new Float32Array(batch * inH * inW * depth);
  const rows = bilinearSources(outH, inH, resizeRatio(inH, outH, alignCorners), halfPixelCenters);
  const cols = bilinearSources(outW, inW, resizeRatio(inW, outW, alignCorners), halfPixelCenters);
  let o = 0;
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < outH; r++) {
      const top = (b * inH + rows.lo[r]!) * inW;
      const bottom = (b * inH + rows.hi[r]!) * inW;
      const rf = rows.frac[r]!;
      for (let c = 0; c < outW; c++) {
        const cf = cols.frac[c]!;
        const tl = (top + cols.lo[c]!) * depth;
        const tr = (top + cols.hi[c]!) * depth;
        const bl = (bottom + cols.lo[c]!) * depth;
        const br = (bottom + cols.hi[c]!) * depth;
        const wtl = (1 - rf) * (1 - cf);
        const wtr = (1 - rf) * cf;
        const wbl = rf * (1 - cf);
        const wbr = rf * cf;
        for (let d = 0; d < depth; d++) {
          const g = dyValues[o++]!;
          dx[tl + d] = dx[tl + d]! + g * wtl;
          dx[tr + d] = dx[tr + d]! + g * wtr;
          dx[bl + d] = dx[bl + d]! + g * wbl;
          dx[br + d] = dx[br + d]! + g * wbr;
        }
      }
    }
  }
  return { dataId: backend.write(dx, images.shape, 'float32'), shape: images.shape, dtype: 'float32' };
});

/** Stock kernel unless halfPixelCenters is set, then the adjoint above. */
function withHalfPixelFix(stock: tf.KernelConfig, fix: KernelFunc): KernelFunc {
  return kernel((args) => {
    const hpc = (args.attrs as { halfPixelCenters?: boolean }).halfPixelCenters === true;
    return (hpc ? fix : stock.kernelFunc)(args);
  });
}

// ---------------------------------------------------------------------------------------------------
// Identity on wasm shares the input's memory (a reference count), as the cpu backend's does, instead of
// copying it. tfjs clones every tensor it saves for a gradient: with the copying kernel each saved
// activation existed twice during a training step (273 MiB of copies in one `small` generator pass
// with its gradient at batch 2, measured). tfjs tensors are immutable and every kernel writes only
// into outputs it allocates, so sharing is safe.
// ---------------------------------------------------------------------------------------------------
function makeWasmSharedIdentity(stock: tf.KernelConfig): KernelFunc {
  return kernel<BackendWasm>((args) => {
    const { x } = args.inputs as unknown as { x: TensorInfo };
    if (x.dtype === 'string') return stock.kernelFunc(args);
    args.backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  });
}

// ---------------------------------------------------------------------------------------------------
// SplitV on wasm: the stock kernel slices each piece element by element (profiled on a `small` step at
// batch 2: 17–20 ms per SplitV of 2M floats, the nearest-upsample gradient). Here one `copyWithin` per
// contiguous run. Other dtypes go to the stock kernel.
// (Sum over leading axes, which wasm transposes first, was tried as a product with a vector of ones:
// XNNPACK packs the summed tensor as the product's weights on every new tensor, 10 ms per
// [2,128,128,32] sum in a training step against the stock kernel's 7 ms, so the stock kernel stays.)
// ---------------------------------------------------------------------------------------------------

function makeWasmSplitV(stock: tf.KernelConfig): KernelFunc {
  return kernel<BackendWasm>((args) => {
    const { x } = args.inputs as unknown as { x: TensorInfo };
    if (x.dtype !== 'float32') return stock.kernelFunc(args);
    const { numOrSizeSplits, axis } = args.attrs as unknown as tf.SplitVAttrs;
    const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
    const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, numOrSizeSplits, ax);
    const outer = prod(x.shape.slice(0, ax));
    const inner = prod(x.shape.slice(ax + 1));
    const D = x.shape[ax]!;
    const backend = args.backend;
    const outs = sizes.map((s) =>
      backend.makeOutput(
        x.shape.map((d, i) => (i === ax ? s : d)),
        'float32',
      ),
    );
    // views after every allocation (allocating may move the heap)
    const srcView = view(backend, x);
    const heap = new Float32Array(srcView.buffer);
    const so = srcView.byteOffset >>> 2;
    let off = 0;
    sizes.forEach((s, i) => {
      const run = s * inner;
      if (run > 0) {
        const d0 = (backend.typedArrayFromHeap(outs[i]!) as Float32Array).byteOffset >>> 2;
        for (let o = 0; o < outer; o++) {
          const from = so + (o * D + off) * inner;
          heap.copyWithin(d0 + o * run, from, from + run);
        }
      }
      off += s;
    });
    return outs;
  });
}

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
