/**
 * 3×3 stride-1 convolutions on wasm by Winograd's minimal filtering, F(4×4, 3×3) (Lavin & Gray 2016,
 * "Fast Algorithms for Convolutional Neural Networks"); F(2×2, 3×3) for training's input gradients
 * (below: why not F(4×4) there), and F(3×3, 4×4) for their filter gradients.
 *
 * Why: XNNPACK in tfjs-backend-wasm 4.22 has 128-bit SIMD and no FMA, so a direct 3×3 conv runs near
 * that ceiling (≈ 20 GFLOP/s on 2 threads here) and cannot go faster. F(m×m, 3×3) computes each m×m
 * output tile from an α×α input tile (α = m + 2) with α² multiplies per channel pair instead of 9m²:
 * for m = 4, 36 instead of 144, all in 36 matrix products. The transforms are
 * a few additions per element, done straight on the wasm heap by our own WebAssembly SIMD loops
 * (wasm-winograd-simd.ts); the products by our own matrix product (wasm-gemm.ts) where it runs, else
 * XNNPACK's.
 *
 *   U_k = (G g Gᵀ)_k      weights  [3, 3, Ci, Co] → α² × [Ci, Co]
 *   V_k = (Bᵀ d B)_k      inputs   α×α tiles (stride m) → α² × [tiles, Ci]
 *   M_k = V_k · U_k       α² matrix products           → α² × [tiles, Co]
 *   Y   = Aᵀ M A          m×m output tiles
 *
 * Accuracy: float32 rounding is relative to each tile's largest values rather than each pixel's
 * (≈1e-5 of the largest output for F(4×4), against ≈1e-6 direct), measured against the cpu backend in
 * wasm-winograd.test.ts. Pixels whose whole window is zero are set to exact zeros (zeroDeadPixels).
 *
 * Big layers are done in chunks of tile rows, so that the transient V and M stay near 16 MiB each
 * (times the batch size: chunks are tile rows of every image).
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  F2,
  F4,
  prepareWinogradGradSimd,
  prepareWinogradSimd,
  winogradGradSimd,
  winogradSimd,
  type WinogradGradSimd,
  type WinogradMatrices,
  type WinogradSimd,
} from './wasm-winograd-simd.js';
import { wasmGemmFor, type WasmGemm } from './wasm-gemm.js';
import { heapMemory, heapOffset } from './wasm-heap.js';

type TensorInfo = tf.TensorInfo;
type KernelFunc = tf.KernelFunc;

export interface WinogradPads {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/** Floats in one chunk's transformed input tiles (all α² of them) at most, per image: 16 MiB. */
let chunkFloats = 1 << 22;

/** For tests: a small chunk exercises the chunked path on small layers. Returns the previous value. */
export function setWinogradChunkForTests(floats: number): number {
  const previous = chunkFloats;
  chunkFloats = floats;
  return previous;
}

/** The SIMD transforms of `w` for this backend's heap, or null when they cannot run here. */
export function winogradTransforms(backend: BackendWasm, w: WinogradMatrices): WinogradSimd | null {
  const mem = heapMemory(backend);
  return mem ? winogradSimd(mem, w) : null;
}

/** Byte offset of a tensor's data in the wasm heap. */
const ptr = (backend: BackendWasm, t: TensorInfo) => heapOffset(backend, t, 'winogradConv3x3');

/**
 * Sets to exactly zero each output pixel whose whole 3×3 window reads zeros (or padding), as the direct
 * convolution gives. Winograd spreads rounding error over a tile, so such pixels next to non-zero ones
 * come out at ~1e-7 instead of 0, and a pixel norm (ε = 1e-8) downstream turns that into visible
 * values: without this, the `tiny` generator's output on a soft face mask (zero background) moved by
 * 0.18 against the direct convolution; with it, by 3.8e-6. Cheap: one scan that stops at the first
 * non-zero channel of each pixel, and nothing more when no pixel is all zero.
 */
function zeroDeadPixels(backend: BackendWasm, x: TensorInfo, out: TensorInfo, pads: WinogradPads): void {
  const [B, H, W, Ci] = x.shape as [number, number, number, number];
  const [, Ho, Wo, Co] = out.shape as [number, number, number, number];
  const xv = backend.typedArrayFromHeap(x) as Float32Array;
  const alive = new Uint8Array(B * H * W);
  let dead = 0;
  for (let p = 0, base = 0; p < alive.length; p++, base += Ci) {
    let c = 0;
    while (c < Ci && xv[base + c] === 0) c++;
    if (c < Ci) alive[p] = 1;
    else dead++;
  }
  if (dead === 0) return;
  const ov = backend.typedArrayFromHeap(out) as Float32Array;
  for (let b = 0; b < B; b++) {
    for (let oh = 0; oh < Ho; oh++) {
      const r0 = Math.max(0, oh - pads.top);
      const r1 = Math.min(H - 1, oh - pads.top + 2);
      for (let ow = 0; ow < Wo; ow++) {
        const c0 = Math.max(0, ow - pads.left);
        const c1 = Math.min(W - 1, ow - pads.left + 2);
        let any = 0;
        for (let r = r0; r <= r1 && !any; r++) {
          for (let c = c0; c <= c1; c++) any |= alive[(b * H + r) * W + c]!;
        }
        if (!any) {
          const o = ((b * Ho + oh) * Wo + ow) * Co;
          ov.fill(0, o, o + Co);
        }
      }
    }
  }
}

/** Writes pointer table `slot` (of α² entries) in the int32 tensor `tabs` with the tensors' offsets. */
function tableSetter(backend: BackendWasm, tabs: TensorInfo, a2: number) {
  return (slot: number, ts: readonly TensorInfo[]) => {
    // A fresh view each time: allocations in between may have grown (and detached) the heap.
    const tab = new Int32Array((backend.typedArrayFromHeap(tabs) as Int32Array).buffer, ptr(backend, tabs) + 4 * a2 * slot, a2);
    ts.forEach((t, k) => (tab[k] = ptr(backend, t)));
  };
}

/**
 * The tile transform of `src` [B, H, W, C] by `simd`'s rows and cols (an α × n matrix T): returns
 * `(ty0, ty1, tabAt)`, which writes tile rows [ty0, ty1) of every image into the α² arrays whose
 * pointers are at tabAt, tile (b, ty, tx) at row (b·(ty1 − ty0) + ty − ty0)·TW + tx of each. Tile
 * (ty, tx) reads src rows m·ty − top + i and columns m·tx − left + j for i, j < n, zeros outside. Its two
 * buffers are made now and given to `keep` (the caller frees them).
 */
function tileTransform(
  backend: BackendWasm,
  simd: Pick<WinogradSimd, 'rows' | 'cols'>,
  src: TensorInfo,
  top: number,
  left: number,
  m: number,
  n: number,
  TW: number,
  keep: (t: TensorInfo) => TensorInfo,
): (ty0: number, ty1: number, tabAt: number) => void {
  const [B, H, W, C] = src.shape as [number, number, number, number];
  const a = m + 2;
  // The row-transform buffer holds columns 0..Wp−1 = src columns −left..; only [c0, c1) are inside, the
  // others stay zero.
  const Wp = m * (TW - 1) + n;
  const c0 = Math.min(Wp, left);
  const c1 = Math.max(c0, Math.min(Wp, W + left));
  const rowBytes = Wp * C * 4;
  const tbuf = keep(backend.makeOutput([a * Wp * C], 'float32'));
  const zero = keep(backend.makeOutput([Math.max(4, (c1 - c0) * C)], 'float32'));
  (backend.typedArrayFromHeap(tbuf) as Float32Array).fill(0);
  (backend.typedArrayFromHeap(zero) as Float32Array).fill(0);
  const rows: number[] = new Array<number>(n);
  return (ty0, ty1, tabAt) => {
    const srcAt = ptr(backend, src);
    const zeroAt = ptr(backend, zero);
    const tAt = ptr(backend, tbuf);
    for (let b = 0; b < B; b++) {
      for (let ty = ty0; ty < ty1; ty++) {
        for (let i = 0; i < n; i++) {
          const r = m * ty - top + i;
          rows[i] = r >= 0 && r < H ? srcAt + ((b * H + r) * W + (c0 - left)) * C * 4 : zeroAt;
        }
        simd.rows(...rows, tAt + c0 * C * 4, rowBytes, (c1 - c0) * C * 4);
        const n0 = (b * (ty1 - ty0) + (ty - ty0)) * TW;
        simd.cols(tAt, rowBytes, C * 4, TW, tabAt, n0 * C * 4);
      }
    }
  };
}

/**
 * conv2d(x, filter) for a 3×3 filter, stride 1, dilation 1, NHWC, explicit pads ≥ 0, Ci and Co
 * multiples of 4, by F(m×m, 3×3) with the transforms `simd`. The products run by `gemm` (ours, see
 * wasm-gemm.ts) when given and Co is a multiple of 8, else by `matMul`, the stock wasm BatchMatMul
 * kernel (XNNPACK; 2-D operands, no transposes). Returns a new tensor; every intermediate is freed,
 * also on error.
 */
export function winogradConv3x3(
  backend: BackendWasm,
  simd: WinogradSimd,
  matMul: KernelFunc,
  x: TensorInfo,
  filter: TensorInfo,
  pads: WinogradPads,
  gemm: WasmGemm | null = null,
): TensorInfo {
  const [B, H, W, Ci] = x.shape as [number, number, number, number];
  const [kh, kw, fCi, Co] = filter.shape as [number, number, number, number];
  if (kh !== 3 || kw !== 3 || fCi !== Ci) throw new Error(`winogradConv3x3: filter ${filter.shape} does not fit input ${x.shape}`);
  if (Ci % 4 !== 0 || Co % 4 !== 0) throw new Error(`winogradConv3x3: channels must be multiples of 4, got ${Ci} → ${Co}`);
  const { top, left } = pads;
  const Ho = H + top + pads.bottom - 2;
  const Wo = W + left + pads.right - 2;
  if (Ho < 1 || Wo < 1 || top < 0 || left < 0 || pads.bottom < 0 || pads.right < 0) {
    throw new Error(`winogradConv3x3: no output for input ${x.shape} and pads ${JSON.stringify(pads)}`);
  }
  const m = simd.matrices.m;
  const a = m + 2; // input tile size
  const a2 = a * a; // products
  const TH = Math.ceil(Ho / m);
  const TW = Math.ceil(Wo / m);
  const chunkRows = Math.max(1, Math.min(TH, Math.floor(chunkFloats / (a2 * B * TW * Math.max(Ci, Co)))));

  const owned: TensorInfo[] = [];
  const keep = (t: TensorInfo) => (owned.push(t), t);
  const free = (ts: TensorInfo[]) => {
    for (const t of ts.splice(0)) backend.disposeData(t.dataId);
  };
  const out = backend.makeOutput([B, Ho, Wo, Co], 'float32');
  try {
    const tiles = tileTransform(backend, simd, x, top, left, m, a, TW, keep);
    const tabs = keep(backend.makeOutput([3 * a2], 'int32')); // v, m and u tables: a² pointers each
    const u: TensorInfo[] = [];
    for (let k = 0; k < a2; k++) u.push(keep(backend.makeOutput([Ci, Co], 'float32')));
    const tabsAt = ptr(backend, tabs);
    const setTable = tableSetter(backend, tabs, a2);
    setTable(2, u);
    simd.filter(ptr(backend, filter), Ci * Co * 4, tabsAt + 8 * a2);
    const ours = gemm !== null && Co % 8 === 0 ? gemm : null;
    if (ours) {
      // Our product reads the filters in panels of 8 columns: repacked once per call (≈ 0.1 ms for 256²).
      for (let k = 0; k < a2; k++) {
        const p = keep(backend.makeOutput([Ci, Co], 'float32'));
        ours.pack(ptr(backend, u[k]!), ptr(backend, p), Ci, Co);
        u[k] = p;
      }
    }

    const outAt = ptr(backend, out);
    const lastCols = Wo - m * (TW - 1);
    for (let ty0 = 0; ty0 < TH; ty0 += chunkRows) {
      const ty1 = Math.min(TH, ty0 + chunkRows);
      const n = B * (ty1 - ty0) * TW;
      const v: (TensorInfo | null)[] = [];
      const prods: TensorInfo[] = [];
      try {
        for (let k = 0; k < a2; k++) v.push(backend.makeOutput([n, Ci], 'float32'));
        setTable(0, v as TensorInfo[]);
        tiles(ty0, ty1, tabsAt);
        for (let k = 0; k < a2; k++) {
          if (ours) {
            const p = backend.makeOutput([n, Co], 'float32');
            prods.push(p);
            ours.mul(ptr(backend, v[k]!), ptr(backend, u[k]!), ptr(backend, p), n, Co, Ci);
          } else {
            prods.push(matMul({ inputs: { a: v[k]!, b: u[k]! }, backend, attrs: { transposeA: false, transposeB: false } }) as TensorInfo);
          }
          backend.disposeData(v[k]!.dataId); // each input freed once used: a lower peak
          v[k] = null;
        }
        setTable(1, prods);
        const dst: number[] = new Array<number>(m);
        for (let b = 0; b < B; b++) {
          for (let ty = ty0; ty < ty1; ty++) {
            const n0 = (b * (ty1 - ty0) + (ty - ty0)) * TW;
            for (let r = 0; r < m; r++) {
              const row = m * ty + r;
              dst[r] = row < Ho ? outAt + (b * Ho + row) * Wo * Co * 4 : 0;
            }
            simd.out(tabsAt + 4 * a2, n0 * Co * 4, TW, Co * 4, ...dst, lastCols);
          }
        }
      } finally {
        for (const t of v.splice(0)) if (t) backend.disposeData(t.dataId);
        free(prods);
      }
    }
    zeroDeadPixels(backend, x, out, pads);
    return out;
  } catch (e) {
    backend.disposeData(out.dataId);
    throw e;
  } finally {
    free(owned);
  }
}

// ---------------------------------------------------------------------------------------------------
// The filter gradient by F(3×3, 4×4).
//
// dW[i, j] = Σ over output pixels of x_pad[pixel + (i, j)]ᵀ · dy[pixel]. Over one 4×4 tile of dy and the
// 6×6 tile of x it reads, this is F(3×3, 4×4): by the transposition principle it uses the points of
// F(4×4, 3×3), with x's tiles transformed by the same Bᵀ (V = Bᵀ X B, the forward's transform), dy's by
// A = (Aᵀ)ᵀ (D = A dY Aᵀ), and the output by G: dW = Gᵀ [Σ_tiles V ⊙ D] G. The sum over tiles is α² = 36
// matrix products M_k [Ci, Co] = V_kᵀ · D_k, 4 times fewer multiply-adds than the direct sum, and the
// output transform runs once on the sums. Rounding: relative to the tiles' largest values, as in the
// forward; the gradient is a sum over every tile, with no per-pixel amplification after it (the reason
// the input gradient stays direct, see wasm-training.ts).
// ---------------------------------------------------------------------------------------------------

/**
 * The filter gradient [3, 3, Ci, Co] of conv2d(x, w) for a 3×3 filter, stride 1, dilation 1, NHWC,
 * explicit pads ≥ 0, from x [B, H, W, Ci] and dy [B, Ho, Wo, Co]; Ci a multiple of 4, Co of 8. `simd`
 * are the forward's transforms (x's tiles), `grad` the gradient's (dy's tiles, output), all for the
 * same points. Returns a new tensor; every intermediate is freed, also on error.
 */
export function winogradFilterGrad3x3(
  backend: BackendWasm,
  simd: WinogradSimd,
  grad: WinogradGradSimd,
  gemm: WasmGemm,
  x: TensorInfo,
  dy: TensorInfo,
  pads: WinogradPads,
): TensorInfo {
  const [B, H, W, Ci] = x.shape as [number, number, number, number];
  const [dB, Ho, Wo, Co] = dy.shape as [number, number, number, number];
  const { top, left } = pads;
  if (dB !== B || Ho !== H + top + pads.bottom - 2 || Wo !== W + left + pads.right - 2 || Ho < 1 || Wo < 1) {
    throw new Error(`winogradFilterGrad3x3: dy ${dy.shape} does not fit input ${x.shape} and pads ${JSON.stringify(pads)}`);
  }
  if (Ci % 4 !== 0 || Co % 8 !== 0) throw new Error(`winogradFilterGrad3x3: channels must be multiples of 4 and 8, got ${Ci} → ${Co}`);
  if (simd.matrices !== grad.matrices) throw new Error('winogradFilterGrad3x3: the transforms are for different points');
  const m = simd.matrices.m;
  const a = m + 2;
  const a2 = a * a;
  const TH = Math.ceil(Ho / m);
  const TW = Math.ceil(Wo / m);
  // Chunks of tile rows (of every image) bound the transient V and D; their gradients are summed.
  const chunkRows = Math.max(1, Math.min(TH, Math.floor(chunkFloats / (a2 * B * TW * (Ci + Co)))));
  const nBytes = Ci * Co * 4;

  const owned: TensorInfo[] = [];
  const keep = (t: TensorInfo) => (owned.push(t), t);
  const out = backend.makeOutput([3, 3, Ci, Co], 'float32');
  try {
    const xTiles = tileTransform(backend, simd, x, top, left, m, a, TW, keep);
    const dyTiles = tileTransform(backend, grad, dy, 0, 0, m, m, TW, keep);
    const tabs = keep(backend.makeOutput([3 * a2], 'int32')); // V, D and M tables: α² pointers each
    const setTable = tableSetter(backend, tabs, a2);
    const sums: TensorInfo[] = [];
    for (let k = 0; k < a2; k++) sums.push(keep(backend.makeOutput([Ci, Co], 'float32')));
    setTable(2, sums);
    const part = TH > chunkRows ? keep(backend.makeOutput([3, 3, Ci, Co], 'float32')) : null;
    const maxN = 4 * Math.ceil((B * chunkRows * TW) / 4);
    const vt = keep(backend.makeOutput([Ci, maxN], 'float32'));
    const dp = keep(backend.makeOutput([maxN, Co], 'float32'));
    for (let ty0 = 0; ty0 < TH; ty0 += chunkRows) {
      const ty1 = Math.min(TH, ty0 + chunkRows);
      const n = B * (ty1 - ty0) * TW;
      const n4 = 4 * Math.ceil(n / 4); // the transpose takes whole blocks of 4 rows: zero tiles after n
      const chunk: TensorInfo[] = [];
      try {
        for (let k = 0; k < 2 * a2; k++) chunk.push(backend.makeOutput([n4, k < a2 ? Ci : Co], 'float32'));
        if (n4 > n) {
          for (let k = 0; k < 2 * a2; k++) {
            const c = chunk[k]!.shape[1]!;
            (backend.typedArrayFromHeap(chunk[k]!) as Float32Array).fill(0, n * c, n4 * c);
          }
        }
        setTable(0, chunk.slice(0, a2));
        setTable(1, chunk.slice(a2));
        const tabsAt = ptr(backend, tabs);
        xTiles(ty0, ty1, tabsAt);
        dyTiles(ty0, ty1, tabsAt + 4 * a2);
        const vtAt = ptr(backend, vt);
        const dpAt = ptr(backend, dp);
        for (let k = 0; k < a2; k++) {
          gemm.transpose(ptr(backend, chunk[k]!), vtAt, n4, Ci);
          gemm.pack(ptr(backend, chunk[a2 + k]!), dpAt, n4, Co);
          gemm.mul(vtAt, dpAt, ptr(backend, sums[k]!), Ci, Co, n4);
        }
      } finally {
        for (const t of chunk) backend.disposeData(t.dataId);
      }
      if (ty0 === 0) {
        grad.gradOut(ptr(backend, tabs) + 8 * a2, nBytes, ptr(backend, out));
      } else {
        grad.gradOut(ptr(backend, tabs) + 8 * a2, nBytes, ptr(backend, part!));
        const o = backend.typedArrayFromHeap(out) as Float32Array;
        const pv = backend.typedArrayFromHeap(part!) as Float32Array;
        for (let e = 0; e < o.length; e++) o[e]! += pv[e]!;
      }
    }
    return out;
  } catch (e) {
    backend.disposeData(out.dataId);
    throw e;
  } finally {
    for (const t of owned) backend.disposeData(t.dataId);
  }
}

// ---------------------------------------------------------------------------------------------------
// The wasm Conv2D kernel: Winograd F(4×4, 3×3) where it pays, the stock kernel elsewhere.
// ---------------------------------------------------------------------------------------------------

export interface WasmWinogradOptions {
  /** Use Winograd for eligible convolutions. Default true. */
  enabled?: boolean;
  /**
   * Convolutions with fewer multiply-adds (B·Ho·Wo·Ci·Co·9) stay on the stock kernel. Default 2²⁵.
   */
  minMacs?: number;
  /**
   * Convolutions with fewer 4×4 output tiles (B·⌈Ho/4⌉·⌈Wo/4⌉, the rows of each of the 36 products)
   * stay on the stock kernel: short products run below the direct convolution's speed. Default 64.
   */
  minTiles?: number;
  /**
   * Also run the filter gradient of eligible convolutions (training) by F(3×3, 4×4). Default true; off
   * when `enabled` is false.
   */
  filterGrad?: boolean;
  /**
   * Also run the input gradient of eligible convolutions (training) by F(2×2, 3×3), with the same
   * thresholds. Default true; off when `enabled` is false.
   */
  inputGrad?: boolean;
}

// Measured here (each against the stock kernel). With XNNPACK's products, 2 threads: Winograd won from
// 256 tiles and 32 channels up (1.1–2.4×), and lost below: 16² 256→256 (16 tiles) 0.33×, 64² 16→32
// 0.35×, 16² 64→64 at batch 4 (64 tiles) 0.57×. With our product (wasm-gemm.ts), plain and fused, 1 and
// 2 threads: 64 tiles win 1.14–2.64× (batch 4 16² 64→64 and 128→128, 32² 64→64), 16 tiles 0.84–1.30×
// (16² 256→256, batch 4 8² 128→128). Hence 64 tiles.
const DEFAULTS = { enabled: true, minMacs: 1 << 25, minTiles: 64, filterGrad: true, inputGrad: true };
const MIN_CHANNELS = 32;
const settings = { ...DEFAULTS };
const noCalls = { winograd: 0, stock: 0, filterGrad: 0, inputGrad: 0 };
let calls = { ...noCalls };

/** Turns the Winograd path on or off, or moves its size thresholds ('defaults' resets all); returns the previous settings. */
export function setWasmWinograd(options: WasmWinogradOptions | 'defaults'): Required<WasmWinogradOptions> {
  const previous = { ...settings };
  const o = options === 'defaults' ? DEFAULTS : options;
  if (o.enabled !== undefined) settings.enabled = o.enabled;
  if (o.minMacs !== undefined) settings.minMacs = Math.max(0, o.minMacs);
  if (o.minTiles !== undefined) settings.minTiles = Math.max(0, o.minTiles);
  if (o.filterGrad !== undefined) settings.filterGrad = o.filterGrad;
  if (o.inputGrad !== undefined) settings.inputGrad = o.inputGrad;
  return previous;
}

/**
 * How many Conv2D calls took each path since the last reset, and how many filter and input gradients
 * ran by Winograd (for tests and benchmarks).
 */
export function wasmWinogradCalls(reset = false): { winograd: number; stock: number; filterGrad: number; inputGrad: number } {
  const c = { ...calls };
  if (reset) calls = { ...noCalls };
  return c;
}

/**
 * Compiles the SIMD transforms for the active wasm backend's heap ahead of use, asynchronously:
 * browsers refuse to compile them synchronously on the main thread. Returns whether they are ready.
 */
export async function prepareWasmWinograd(backend: BackendWasm): Promise<boolean> {
  const mem = heapMemory(backend);
  if (!mem) return false;
  const ready = await Promise.all([prepareWinogradSimd(mem, F4), prepareWinogradGradSimd(mem, F4), prepareWinogradSimd(mem, F2)]);
  return ready.every((r) => r !== null);
}

/**
 * The Winograd-or-stock Conv2D kernel body around the stock wasm `Conv2D`; `matMul` is the stock wasm
 * `BatchMatMul` (called with 2-D operands, no transposes: XNNPACK's fast path).
 */
export function makeWasmWinogradConv2D(stock: KernelFunc, matMul: KernelFunc): KernelFunc {
  return ((args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }) => {
    const { x, filter } = args.inputs as unknown as { x: TensorInfo; filter: TensorInfo };
    const backend = args.backend as BackendWasm;
    const attrs = (args.attrs ?? {}) as unknown as tf.Conv2DAttrs;
    const pads = settings.enabled ? eligible(x, filter, attrs) : null;
    const simd = pads ? winogradTransforms(backend, F4) : null;
    if (!pads || !simd) {
      calls.stock++;
      return stock(args as Parameters<KernelFunc>[0]);
    }
    calls.winograd++;
    return winogradConv3x3(backend, simd, matMul, x, filter, pads, wasmGemmFor(heapMemory(backend)));
  }) as KernelFunc;
}

// Measured here (2 threads, against the matrix-product filter gradient of wasm-training.ts; the
// products are the same code, so this is the multiply-adds saved less the transforms' cost): 1.5–2.9×
// from 4×16² 32→32 (9.4 M multiply-adds) up to 4×128² 16→16 and 4×16² 256→256; 0.6× for 2×11×9
// 32→40 (2.3 M). Hence a threshold of 2²² multiply-adds and 16 channels.
const FILTER_GRAD_MIN_MACS = 1 << 22;
const FILTER_GRAD_MIN_CHANNELS = 16;

/**
 * The filter gradient of a 3×3 stride-1 convolution by F(3×3, 4×4) when the layer takes it (the
 * Conv2DBackpropFilter kernel of wasm-training.ts asks first), else null. Takes float32 NHWC layers with
 * pads ≥ 0, Ci a multiple of 4 and Co of 8, both ≥ 16, 2²² multiply-adds or more, and needs our matrix
 * product (`gemm`): its products are [Ci, tiles] · [tiles, Co].
 */
export function wasmWinogradFilterGrad(
  backend: BackendWasm,
  x: TensorInfo,
  dy: TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  gemm: WasmGemm | null,
): TensorInfo | null {
  if (!settings.enabled || !settings.filterGrad || gemm === null) return null;
  if (x.dtype !== 'float32' || dy.dtype !== 'float32' || x.shape.length !== 4 || dy.shape.length !== 4) return null;
  if (info.filterHeight !== 3 || info.filterWidth !== 3 || info.strideHeight !== 1 || info.strideWidth !== 1) return null;
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1 || info.dataFormat !== 'channelsLast') return null;
  const { top, bottom, left, right } = info.padInfo;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) return null;
  const Ci = info.inChannels;
  const Co = info.outChannels;
  if (Ci % 4 !== 0 || Co % 8 !== 0 || Ci < FILTER_GRAD_MIN_CHANNELS || Co < FILTER_GRAD_MIN_CHANNELS) return null;
  if (info.batchSize * info.outHeight * info.outWidth * Ci * Co * 9 < FILTER_GRAD_MIN_MACS) return null;
  const mem = heapMemory(backend);
  const simd = winogradTransforms(backend, F4);
  const grad = mem ? winogradGradSimd(mem, F4) : null;
  if (!simd || !grad) return null;
  calls.filterGrad++;
  return winogradFilterGrad3x3(backend, simd, grad, gemm, x, dy, { top, bottom, left, right });
}

// ---------------------------------------------------------------------------------------------------
// The input gradient by F(2×2, 3×3).
//
// The input gradient of a stride-1 conv is itself a stride-1 conv, of dy with the flipped, in/out-swapped
// kernel (wasm-training.ts builds it), so the forward code runs it. With F(2×2, 3×3), not F(4×4, 3×3):
// the pixel norms (ε = 1e-8) multiply the gradient at zero pixels (a masked background) by up to
// 1/√ε = 1e4 per block, so dy spans many orders of magnitude across the mask's edge, and Winograd's
// rounding is relative to each tile's largest values. F(4×4)'s points ±2 round ≈ 10× worse (≈ 1e-5 of the
// tile's largest value) and over a wider tile: measured on the `tiny` training test (50 steps, real
// faces), F(4×4) in the input gradient of every eligible layer stops training (reconstruction L1 0.578
// → 0.587), where F(2×2) matches the direct convolution over four seeds: 0.377 / 0.438 / 0.242 / 0.235
// on every eligible layer, 0.361 / 0.412 / 0.257 / 0.300 at the default thresholds (1,176 input
// gradients), against 0.350 / 0.411 / 0.258 / 0.295. F(2×2) does 2.25× fewer multiply-adds than the
// direct convolution (F(4×4): 4×); 2 threads, 64² 128→128: 9.2 ms against XNNPACK's 15.8.
// ---------------------------------------------------------------------------------------------------

/**
 * conv2d(dy, flipped) with explicit pads ≥ 0 by F(2×2, 3×3) when the layer takes it (the
 * Conv2DBackpropInput kernel of wasm-training.ts asks first; `flipped` is the [3, 3, Co, Ci] kernel it
 * made), else null. The same thresholds as the forward apply, to this convolution's shapes.
 */
export function wasmWinogradInputGrad(backend: BackendWasm, matMul: KernelFunc, dy: TensorInfo, flipped: TensorInfo, pads: WinogradPads): TensorInfo | null {
  if (!settings.enabled || !settings.inputGrad) return null;
  const { top, bottom, left, right } = pads;
  const attrs = {
    strides: 1,
    dilations: 1,
    dataFormat: 'NHWC',
    pad: [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ],
  } as unknown as tf.Conv2DAttrs;
  if (!eligible(dy, flipped, attrs)) return null;
  const simd = winogradTransforms(backend, F2);
  if (!simd) return null;
  calls.inputGrad++;
  return winogradConv3x3(backend, simd, matMul, dy, flipped, pads, wasmGemmFor(heapMemory(backend)));
}

const one = (v: number | [number, number] | undefined) => v === undefined || v === 1 || (Array.isArray(v) && v[0] === 1 && v[1] === 1);

/** The pads when this conv takes the Winograd path, else null. */
function eligible(x: TensorInfo, filter: TensorInfo, a: tf.Conv2DAttrs): WinogradPads | null {
  if (x.dtype !== 'float32' || filter.dtype !== 'float32' || x.shape.length !== 4 || filter.shape.length !== 4) return null;
  if ((a.dataFormat ?? 'NHWC') !== 'NHWC' || !one(a.strides) || !one(a.dilations)) return null;
  const [kh, kw, Ci, Co] = filter.shape as [number, number, number, number];
  if (kh !== 3 || kw !== 3 || Ci % 4 !== 0 || Co % 4 !== 0 || Ci < MIN_CHANNELS || Co < MIN_CHANNELS) return null;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    a.strides ?? 1,
    a.dilations ?? 1,
    a.pad,
    a.dimRoundingMode,
    false,
    'channelsLast',
  );
  const { top, bottom, left, right } = info.padInfo;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) return null;
  const B = info.batchSize;
  if (B < 1 || info.outHeight < 4 || info.outWidth < 4) return null;
  if (B * info.outHeight * info.outWidth * Ci * Co * 9 < settings.minMacs) return null;
  if (B * Math.ceil(info.outHeight / 4) * Math.ceil(info.outWidth / 4) < settings.minTiles) return null;
  return { top, bottom, left, right };
}
