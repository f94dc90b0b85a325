/**
 * Convolutions of the wasm backend run by ONNX Runtime's native CPU kernels (Node, opt-in).
 *
 * Why: tfjs-backend-wasm 4.22's XNNPACK has 128-bit SIMD and no fused multiply-add, so its convolutions
 * reach about 20 GFLOP/s per core here, a fifth of what the CPU can do (bench/results). `onnxruntime-node`
 * ships native kernels (MLAS: AVX2/AVX-512) inside its npm package, so it installs where
 * `@tensorflow/tfjs-node` cannot. Measured in one `small` training step at batch 4 on this 2-core
 * machine (two threads each, same calls timed both ways): the convolutions took 6.2 s here against
 * 16.6 s on wasm, and the whole step 9.7–9.9 s against 18.8–20.1 s.
 *
 * What it does: `Conv2D`, `Conv2DBackpropInput` and `Conv2DBackpropFilter` on the wasm backend are
 * replaced by kernels that run a small ONNX graph (NHWC transposes around a `Conv`; the input gradient
 * as a `Conv` with the flipped kernel at stride 1, else `ConvTranspose`; the filter gradient as one
 * `Gemm` per tap over shifted windows of the padded input at stride 1, over strided `Slice`s with
 * strides: see buildGraph) in an ONNX Runtime session per layer signature (shapes, strides, pads),
 * cached for the process. Where the CPU has MLAS's NCHWc kernels and the input channels are whole
 * blocks, the forward and the stride-1 input gradient run by those instead (nchwcConvGraph). Filters are
 * rearranged, and inputs padded, while they are copied out of the wasm heap, so no graph transposes a
 * filter and the stride-1 filter gradient copies nothing (Prepare).
 * - The wasm backend and its training kernels must be initialised first (`initBackend`): they are the
 *   fallback and the reference.
 * - Every signature is checked on first use: the ONNX Runtime result must match the wasm kernel's within
 *   a relative tolerance (default 1e-4 of the largest |value|), else that signature stays on wasm, with
 *   one log line. A session that fails to build or run also falls back to wasm. Against a float64
 *   convolution ONNX Runtime's error is the smaller one (tested).
 * - Memory: each session keeps an arena of its largest intermediates and a thread pool; a `small` run
 *   at batch 4 (71 sessions) went from 2.68 to 3.92 GiB resident and from 20 to 92 threads.
 * - Layers ONNX cannot express the same way (dilations with strides, non-float32, NCHW) use wasm.
 * - Tensors stay in the wasm heap: inputs are copied out (ONNX Runtime's binding cannot read the
 *   SharedArrayBuffer of the threaded wasm build) and results copied in.
 *
 * It needs ONNX Runtime's synchronous native call (tfjs kernels are synchronous). onnxruntime-node's
 * public `InferenceSession.run` wraps that call in a promise, so the binding (`dist/binding.js`) is used
 * directly: checked for the members used here, and with versions other than the one tested (1.30) the
 * first-use checks still guard every result.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { encodeOnnxModel, type AttrValue, type OnnxNode, type OnnxInitializer } from '../onnx/proto.js';
import { disableOnnxRuntimeTelemetry, onnxImportFailure } from './onnx-runtime.js';

type TensorInfo = tf.TensorInfo;

/** ONNX Runtime's native session (onnxruntime-node `dist/binding.js`, 1.30). */
interface NativeSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: Record<string, unknown>): void;
  run(
    feeds: Record<string, NativeTensor>,
    fetches: Record<string, NativeTensor | null>,
    options: Record<string, unknown>,
  ): Record<string, { data: unknown; dims: readonly number[] }>;
  dispose?(): void;
}
interface NativeTensor {
  type: 'float32';
  data: Float32Array;
  dims: readonly number[];
  location: 'cpu';
}

/** What `loadOnnxRuntimeBinding` returns. */
export type OnnxBindingProbe = { ok: true; binding: OnnxNativeBinding } | { ok: false; reason: string };

export interface OnnxNativeBinding {
  createSession(model: Uint8Array, options: Record<string, unknown>): NativeSession;
}

const defaultImport = (s: string): Promise<unknown> => import(/* @vite-ignore */ s);

/**
 * Loads onnxruntime-node's native binding through `importModule` (pass `(s) => import(s)` from the
 * package that depends on onnxruntime-node). Never throws: "not installed", "native library will not
 * load" and "a binding of another shape" all come back as `{ ok: false, reason }`.
 */
export async function loadOnnxRuntimeBinding(importModule: (specifier: string) => Promise<unknown> = defaultImport): Promise<OnnxBindingProbe> {
  disableOnnxRuntimeTelemetry();
  let mod: unknown;
  try {
    mod = await importModule('onnxruntime-node/dist/binding.js');
  } catch (e) {
    return { ok: false, reason: onnxImportFailure(e, "onnxruntime-node's native binding") };
  }
  const m = ((mod as { default?: unknown }).default ?? mod) as { binding?: { InferenceSession?: unknown }; initOrt?: unknown };
  const Session = m?.binding?.InferenceSession as (new () => NativeSession) | undefined;
  if (typeof Session !== 'function' || typeof m.initOrt !== 'function') {
    return { ok: false, reason: "onnxruntime-node's binding is not the one this version of @ragan/backend knows (tested with 1.30)" };
  }
  const proto = Session.prototype as Partial<NativeSession>;
  if (typeof proto.loadModel !== 'function' || typeof proto.run !== 'function') {
    return { ok: false, reason: "onnxruntime-node's native session has no synchronous loadModel/run (tested with 1.30)" };
  }
  try {
    (m.initOrt as () => void)();
  } catch (e) {
    return { ok: false, reason: `onnxruntime-node did not initialise (${e instanceof Error ? e.message : String(e)})` };
  }
  return {
    ok: true,
    binding: {
      createSession(model, options) {
        const s = new Session();
        s.loadModel(model.buffer, model.byteOffset, model.byteLength, options);
        return s;
      },
    },
  };
}

export interface OnnxConvKernelOptions {
  /** ONNX Runtime intra-op threads (the wasm backend's thread count is a good choice). */
  threads: number;
  /** Where the one-line fallback notes go. Default `console.error`. */
  log?: (line: string) => void;
  /** Largest accepted |ORT − wasm| on first use, relative to the largest |wasm value|. Default 1e-4. */
  tolerance?: number;
  /** Layers with fewer multiply-adds than this stay on wasm (the call costs ~0.1 ms). Default 2¹⁸. */
  minMacs?: number;
  /**
   * Layer signatures kept at most; beyond, the oldest session is freed. A `small` training run uses
   * ~70; shapes that keep changing (evaluation at many batch sizes) must not grow memory and threads
   * without bound. Default 256.
   */
  maxSessions?: number;
  /**
   * Run forward convolutions and stride-1 input gradients whose input channels are whole blocks by MLAS's
   * NCHWc kernels (nchwcConvGraph) where the CPU has them. Default true; false keeps the standard graphs.
   */
  nchwc?: boolean;
}

/** Counts since `enableOnnxConvKernels`: calls run by ONNX Runtime and calls left to wasm. */
export interface OnnxConvStats {
  onnx: number;
  wasm: number;
  /** Signatures that failed their first-use check or could not build a session (kept on wasm). */
  rejected: number;
  /** ONNX Runtime sessions alive. */
  sessions: number;
  /** Of the `onnx` calls, those run by MLAS's NCHWc kernels (nchwcConvGraph). */
  nchwc: number;
  /** MLAS's NCHWc block size on this CPU (16 with AVX-512, 8 with AVX2), null without; undefined until a session was built. */
  nchwcBlock?: number | null;
}

const KERNELS = ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'] as const;

type ConvKernel = (typeof KERNELS)[number];

interface Entry {
  session: NativeSession | null;
  verified: boolean;
  outShape: number[];
  prepare: Prepare | null;
  /** Run by MLAS's NCHWc kernels. */
  nchwc: boolean;
}

interface State {
  binding: OnnxNativeBinding;
  options: Required<OnnxConvKernelOptions>;
  previous: Map<ConvKernel, tf.KernelConfig>;
  entries: Map<string, Entry>;
  stats: { onnx: number; wasm: number; rejected: number; nchwc: number };
  scratch: Float32Array[];
  /** MLAS's NCHWc block size (8 with AVX2, 16 with AVX-512), null where it has none; probed on first use. */
  nchwc?: number | null;
}

let state: State | null = null;

/**
 * Routes the wasm backend's convolutions through ONNX Runtime (see the file comment). Call after the
 * wasm backend is registered and its training kernels installed (`initBackend`). Idempotent: a second
 * call keeps the first binding and updates the options. Undo with `disableOnnxConvKernels`.
 */
export function enableOnnxConvKernels(binding: OnnxNativeBinding, options: OnnxConvKernelOptions): void {
  const opts: Required<OnnxConvKernelOptions> = {
    threads: Math.max(1, Math.floor(options.threads)),
    log: options.log ?? ((line: string) => console.error(line)),
    tolerance: options.tolerance ?? 1e-4,
    minMacs: options.minMacs ?? 1 << 18,
    maxSessions: Math.max(1, options.maxSessions ?? 256),
    nchwc: options.nchwc ?? true,
  };
  if (state) {
    state.options = opts;
    return;
  }
  const previous = new Map<ConvKernel, tf.KernelConfig>();
  for (const name of KERNELS) {
    const k = tf.getKernel(name, 'wasm');
    if (!k) throw new Error(`enableOnnxConvKernels: the wasm backend has no ${name} kernel; initialise it (initBackend) first`);
    previous.set(name, k);
  }
  state = { binding, options: opts, previous, entries: new Map(), stats: { onnx: 0, wasm: 0, rejected: 0, nchwc: 0 }, scratch: [] };
  for (const name of KERNELS) {
    const prev = previous.get(name)!;
    tf.unregisterKernel(name, 'wasm');
    const kernelFunc = makeKernel(name, prev.kernelFunc);
    // Marked like RAGAN's other kernels, so that registering the training kernels again keeps it.
    Object.defineProperty(kernelFunc, Symbol.for('ragan.kernel'), { value: true });
    const config: tf.KernelConfig = { kernelName: name, backendName: 'wasm', kernelFunc };
    if (prev.setupFunc) config.setupFunc = prev.setupFunc;
    tf.registerKernel(config);
  }
}

/** Puts back the kernels `enableOnnxConvKernels` replaced and frees every session. */
export function disableOnnxConvKernels(): void {
  if (!state) return;
  for (const name of KERNELS) {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(state.previous.get(name)!);
  }
  for (const e of state.entries.values()) e.session?.dispose?.();
  state = null;
}

export function onnxConvKernelsEnabled(): boolean {
  return state !== null;
}

export function onnxConvStats(): OnnxConvStats {
  if (!state) return { onnx: 0, wasm: 0, rejected: 0, sessions: 0, nchwc: 0 };
  let sessions = 0;
  for (const e of state.entries.values()) if (e.session) sessions++;
  return { ...state.stats, sessions, ...(state.nchwc === undefined ? {} : { nchwcBlock: state.nchwc }) };
}

// ---------------------------------------------------------------------------------------------------

type ConvAttrs = {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: string;
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

interface Geometry {
  B: number;
  H: number;
  W: number;
  Ci: number;
  Co: number;
  kh: number;
  kw: number;
  Ho: number;
  Wo: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  top: number;
  bottom: number;
  left: number;
  right: number;
}

function geometry(xShape: number[], filterShape: number[], a: ConvAttrs): Geometry {
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides,
    a.dilations ?? 1,
    a.pad,
    a.dimRoundingMode,
    false,
    'channelsLast',
  );
  return {
    B: info.batchSize,
    H: info.inHeight,
    W: info.inWidth,
    Ci: info.inChannels,
    Co: info.outChannels,
    kh: info.filterHeight,
    kw: info.filterWidth,
    Ho: info.outHeight,
    Wo: info.outWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    dh: info.dilationHeight,
    dw: info.dilationWidth,
    top: info.padInfo.top,
    bottom: info.padInfo.bottom,
    left: info.padInfo.left,
    right: info.padInfo.right,
  };
}

/** Why ONNX Runtime will not take this call, or null. */
function unsupported(g: Geometry, a: ConvAttrs, dtypes: string[]): string | null {
  if (dtypes.some((d) => d !== 'float32')) return 'not float32';
  if (a.dataFormat !== undefined && a.dataFormat !== 'NHWC') return 'not NHWC';
  if ((g.dh > 1 || g.dw > 1) && (g.sh > 1 || g.sw > 1)) return 'dilated and strided';
  if ([g.top, g.bottom, g.left, g.right].some((p) => p < 0)) return 'negative padding';
  if (g.Ho <= 0 || g.Wo <= 0) return 'empty output';
  return null;
}

const ints = (...v: number[]) => ({ ints: v });
const i64 = (name: string, v: number[]): OnnxInitializer => ({ name, dims: [v.length], data: BigInt64Array.from(v.map((x) => BigInt(x))) });

/**
 * How one signature's graph inputs are made from the kernel's two tensors (Conv2D: x, filter; input
 * gradient: dy, filter; filter gradient: x, dy), read from the wasm heap. Inputs are written into
 * reusable plain buffers (`scratch`), already in the layout the graph wants, so no graph transposes a
 * filter (ONNX Runtime's Transpose of a [3, 3, 128, 128] filter took 1.4–2.9 ms of a 15–17 ms layer at
 * 64², profiled; arrangeFilter takes 0.5 ms) and the stride-1 filter gradient copies nothing.
 */
type Prepare = (s: State, a: Float32Array, b: Float32Array) => Record<string, NativeTensor>;

interface Graph {
  /** Operator sets beyond the standard one (the NCHWc graphs). */
  domains?: Record<string, number>;
  nodes: OnnxNode[];
  inits: OnnxInitializer[];
  inputs: [string, number[]][];
  out: number[];
  prepare: Prepare;
}

const feed = (data: Float32Array, dims: number[]): NativeTensor => ({ type: 'float32', data, dims, location: 'cpu' });

/** A reusable plain (non-shared) buffer of `length` floats: slot per input, the binding copies nothing back. */
function scratch(s: State, slot: number, length: number): Float32Array {
  let buf = s.scratch[slot];
  if (!buf || buf.length < length) {
    buf = new Float32Array(Math.max(length, Math.ceil((buf?.length ?? 0) * 1.5)));
    s.scratch[slot] = buf;
  }
  return buf.subarray(0, length);
}

/** `src` as ONNX Runtime can read it: as is from one-thread wasm's heap, else copied out of the SharedArrayBuffer. */
function plainCopy(s: State, slot: number, src: Float32Array): Float32Array {
  if (!(src.buffer instanceof SharedArrayBuffer)) return src;
  const dst = scratch(s, slot, src.length);
  dst.set(src);
  return dst;
}

/**
 * A tfjs filter [kh, kw, Ci, Co] as ONNX's [Co, Ci, kh, kw] (OIHW), or, with `flipped`, as [Ci, Co, kh,
 * kw] with the taps in reverse order: the weight of the input gradient as a stride-1 Conv of dy.
 */
function arrangeFilter(s: State, w: Float32Array, g: Geometry, flipped: boolean): Float32Array {
  const taps = g.kh * g.kw;
  const { Ci, Co } = g;
  const dst = scratch(s, 1, w.length);
  for (let t = 0; t < taps; t++) {
    for (let ci = 0; ci < Ci; ci++) {
      const src = (t * Ci + ci) * Co;
      if (flipped) {
        let d = ci * Co * taps + (taps - 1 - t);
        for (let co = 0; co < Co; co++, d += taps) dst[d] = w[src + co]!;
      } else {
        let d = ci * taps + t;
        const step = Ci * taps;
        for (let co = 0; co < Co; co++, d += step) dst[d] = w[src + co]!;
      }
    }
  }
  return dst;
}

/**
 * Copies `src` [B, rows, cols, C] into `dst` laid out as [B, rowsP, colsP, C] (then flat), with `top`
 * and `left` zero rows and columns before the values and zeros after, up to `dst`'s end. Writes every
 * float of `dst`.
 */
function padInto(
  dst: Float32Array,
  src: Float32Array,
  B: number,
  rows: number,
  cols: number,
  C: number,
  rowsP: number,
  colsP: number,
  top: number,
  left: number,
): void {
  const rowLen = cols * C;
  let d = 0;
  for (let b = 0; b < B; b++) {
    for (let y = 0; y < rowsP && d < dst.length; y++) {
      const rowEnd = Math.min(dst.length, d + colsP * C);
      const yy = y - top;
      if (yy < 0 || yy >= rows) {
        dst.fill(0, d, rowEnd);
      } else {
        const at = d + left * C;
        dst.fill(0, d, Math.min(at, rowEnd));
        const n = Math.max(0, Math.min(rowLen, rowEnd - at));
        const from = (b * rows + yy) * rowLen;
        dst.set(src.subarray(from, from + n), at);
        dst.fill(0, at + n, rowEnd);
      }
      d = rowEnd;
    }
  }
  dst.fill(0, d);
}

function buildGraph(kind: ConvKernel, g: Geometry, nchwc: number | null): Graph {
  if (kind === 'Conv2D') return nchwc && g.Ci % nchwc === 0 ? nchwcConvGraph(g, nchwc, false) : nchwGraph(g, 'forward');
  if (kind === 'Conv2DBackpropInput') {
    if (g.sh === 1 && g.sw === 1 && convLayout(g, 'flipped').pads.every((p) => p >= 0)) {
      // Stride 1: a Conv of dy with the kernel flipped in space and its channels swapped. Measured
      // 1.45–1.9× faster than ConvTranspose at 32²–64², 64–128 channels.
      return nchwc && g.Co % nchwc === 0 ? nchwcConvGraph(g, nchwc, true) : nchwGraph(g, 'flipped');
    }
    return nchwGraph(g, 'transposed');
  }
  return g.sh === 1 && g.sw === 1 ? filterGradShifted(g) : filterGradSliced(g);
}

type ConvForm = 'forward' | 'flipped' | 'transposed';

/**
 * What the graph's convolution reads and writes (NHWC shapes), its weight's [O, I] channels, pads and
 * strides:
 * - 'forward': the layer itself;
 * - 'flipped': the stride-1 input gradient as a convolution of dy with the filter flipped in space and
 *   its channels swapped (O = Ci, I = Co; pads that give the output the input's size);
 * - 'transposed': the strided input gradient as a `ConvTranspose` of dy, whose weight [Co, Ci, kh, kw]
 *   is the forward OIHW filter.
 */
function convLayout(g: Geometry, form: ConvForm): { inShape: number[]; outShape: number[]; O: number; I: number; pads: number[]; strides: number[] } {
  const xShape = [g.B, g.H, g.W, g.Ci];
  const yShape = [g.B, g.Ho, g.Wo, g.Co];
  const pads = [g.top, g.left, g.bottom, g.right];
  if (form === 'forward') return { inShape: xShape, outShape: yShape, O: g.Co, I: g.Ci, pads, strides: [g.sh, g.sw] };
  if (form === 'transposed') return { inShape: yShape, outShape: xShape, O: g.Co, I: g.Ci, pads, strides: [g.sh, g.sw] };
  const ekh = (g.kh - 1) * g.dh + 1;
  const ekw = (g.kw - 1) * g.dw + 1;
  return {
    inShape: yShape,
    outShape: xShape,
    O: g.Ci,
    I: g.Co,
    pads: [ekh - 1 - g.top, ekw - 1 - g.left, ekh - 1 - g.bottom, ekw - 1 - g.right],
    strides: [1, 1],
  };
}

/** The standard graph: ONNX's NCHW `Conv` or `ConvTranspose` (convLayout) between NHWC⇄NCHW transposes. */
function nchwGraph(g: Geometry, form: ConvForm): Graph {
  const { inShape, outShape, O, I, pads, strides } = convLayout(g, form);
  const wShape = [O, I, g.kh, g.kw];
  const attrs: Record<string, AttrValue> = { pads: ints(...pads), strides: ints(...strides), dilations: ints(g.dh, g.dw) };
  if (form === 'transposed') {
    const ekh = (g.kh - 1) * g.dh + 1;
    const ekw = (g.kw - 1) * g.dw + 1;
    attrs.output_padding = ints(g.H - (g.sh * (g.Ho - 1) + ekh - g.top - g.bottom), g.W - (g.sw * (g.Wo - 1) + ekw - g.left - g.right));
  }
  const T = (i: string, o: string, perm: number[]): OnnxNode => ({ opType: 'Transpose', inputs: [i], outputs: [o], name: o, attrs: { perm: ints(...perm) } });
  return {
    nodes: [
      T('x', 'x_nchw', [0, 3, 1, 2]),
      { opType: form === 'transposed' ? 'ConvTranspose' : 'Conv', inputs: ['x_nchw', 'w'], outputs: ['y_nchw'], name: 'conv', attrs },
      T('y_nchw', 'out', [0, 2, 3, 1]),
    ],
    inits: [],
    inputs: [
      ['x', inShape],
      ['w', wShape],
    ],
    out: outShape,
    prepare: (s, x, w) => ({ x: feed(plainCopy(s, 0, x), inShape), w: feed(arrangeFilter(s, w, g, form === 'flipped'), wShape) }),
  };
}

/**
 * The filter gradient's products, given one [rows, Ci] column tensor per tap (in the filter's tap
 * order) and dy as [rows, Co]: dW[i, j] = Xᵢⱼᵀ · dY (Gemm with transA), into the graph output 'out'.
 * - With Ci ≥ 32, one Gemm per tap, the taps' [Ci, Co] results concatenated in the filter's order.
 * - With fewer input channels (the 7×7 RGB stem) the per-tap product is too thin: the columns are
 *   concatenated into [rows, kh·kw·Ci] and multiplied once (column order (i, j, ci) = the filter
 *   layout). That `Concat` of 3-float-wide pieces is slow (49 ms of the stem's 61 ms at 128², batch 4,
 *   profiled), but writing the same matrix in a JS loop while copying was slower still (143 ms).
 */
function tapProducts(g: Geometry, cols: string[], dy: string, nodes: OnnxNode[], inits: OnnxInitializer[]): void {
  const perTap = g.Ci >= 32;
  const parts = perTap
    ? cols.map((c, t) => {
        nodes.push({ opType: 'Gemm', inputs: [c, dy], outputs: [`dw${t}`], name: `gemm${t}`, attrs: { transA: 1 } });
        return `dw${t}`;
      })
    : cols;
  let joined = parts[0]!;
  if (parts.length > 1) {
    nodes.push({ opType: 'Concat', inputs: parts, outputs: ['joined'], name: 'joined', attrs: { axis: perTap ? 0 : 1 } });
    joined = 'joined';
  }
  if (!perTap) {
    nodes.push({ opType: 'Gemm', inputs: [joined, dy], outputs: ['dw2'], name: 'gemm', attrs: { transA: 1 } });
    joined = 'dw2';
  }
  inits.push(i64('w_shape', [g.kh, g.kw, g.Ci, g.Co]));
  nodes.push({ opType: 'Reshape', inputs: [joined, 'w_shape'], outputs: ['out'], name: 'dw' });
}

/**
 * Conv2DBackpropFilter at stride 1, with no copies inside the graph. The padded input is written once,
 * flat, as [B·Hp·Wp, Ci] rows; dy as [L, Co] rows on the same pixel grid (Wp columns a row, Hp rows an
 * image), zero outside the output's Ho × Wo. Then tap (i, j) reads the input rows shifted by
 * off = i·dh·Wp + j·dw: dW[i, j] = X[off .. off + L)ᵀ · dY. Those rows are a contiguous window of the
 * one buffer, fed to ONNX Runtime as a view (no copy). A window row that runs past the end of an image
 * row or image meets a zero row of dy, so it adds nothing. The products cover (Hp·Wp)/(Ho·Wo) of the
 * pixels (6 % more for a 64² 'same' 3×3 layer); the per-tap `Slice` copies they replace took a quarter
 * of the layer's time (profiled: 9 × 0.43 ms of 21.5 ms, plus 0.6 ms for the `Pad`). Products: tapProducts.
 */
function filterGradShifted(g: Geometry): Graph {
  const Hp = g.top + g.H + g.bottom;
  const Wp = g.left + g.W + g.right;
  // The last output pixel's row, + 1: the windows' length. The last tap's window then ends at B·Hp·Wp.
  const L = ((g.B - 1) * Hp + g.Ho - 1) * Wp + g.Wo;
  const rows = g.B * Hp * Wp;
  const offsets: number[] = [];
  for (let i = 0; i < g.kh; i++) for (let j = 0; j < g.kw; j++) offsets.push(i * g.dh * Wp + j * g.dw);
  if (offsets[offsets.length - 1]! + L > rows)
    throw new Error(`the last tap's window (${offsets[offsets.length - 1]! + L} rows) passes the padded input (${rows})`);
  const nodes: OnnxNode[] = [];
  const inits: OnnxInitializer[] = [];
  const inputs: [string, number[]][] = [['dy', [L, g.Co]], ...offsets.map((_, t): [string, number[]] => [`x${t}`, [L, g.Ci]])];
  tapProducts(
    g,
    offsets.map((_, t) => `x${t}`),
    'dy',
    nodes,
    inits,
  );
  return {
    nodes,
    inits,
    inputs,
    out: [g.kh, g.kw, g.Ci, g.Co],
    prepare: (s, x, dy) => {
      const xs = scratch(s, 0, rows * g.Ci);
      padInto(xs, x, g.B, g.H, g.W, g.Ci, Hp, Wp, g.top, g.left);
      const dys = scratch(s, 1, L * g.Co);
      padInto(dys, dy, g.B, g.Ho, g.Wo, g.Co, Hp, Wp, 0, 0);
      const feeds: Record<string, NativeTensor> = { dy: feed(dys, [L, g.Co]) };
      offsets.forEach((off, t) => (feeds[`x${t}`] = feed(xs.subarray(off * g.Ci, (off + L) * g.Ci), [L, g.Ci])));
      return feeds;
    },
  };
}

/**
 * Conv2DBackpropFilter with strides: the input columns each tap reads are one strided Slice of the
 * padded input ([n, Ci] with n = B·Ho·Wo output pixels); products: tapProducts.
 */
function filterGradSliced(g: Geometry): Graph {
  const xShape = [g.B, g.H, g.W, g.Ci];
  const yShape = [g.B, g.Ho, g.Wo, g.Co];
  const nodes: OnnxNode[] = [];
  const inits: OnnxInitializer[] = [];
  let src = 'x';
  if (g.top || g.bottom || g.left || g.right) {
    inits.push(i64('pads', [0, g.top, g.left, 0, 0, g.bottom, g.right, 0]));
    nodes.push({ opType: 'Pad', inputs: ['x', 'pads'], outputs: ['xp'], name: 'pad' });
    src = 'xp';
  }
  const n = g.B * g.Ho * g.Wo;
  inits.push(i64('axes', [1, 2]), i64('steps', [g.sh, g.sw]), i64('rows', [n, g.Ci]), i64('dy_rows', [n, g.Co]));
  nodes.push({ opType: 'Reshape', inputs: ['dy', 'dy_rows'], outputs: ['dy2'], name: 'dy2' });
  const cols: string[] = [];
  for (let i = 0; i < g.kh; i++) {
    for (let j = 0; j < g.kw; j++) {
      const r0 = i * g.dh;
      const c0 = j * g.dw;
      const t = `${i}_${j}`;
      inits.push(i64(`s${t}`, [r0, c0]), i64(`e${t}`, [r0 + (g.Ho - 1) * g.sh + 1, c0 + (g.Wo - 1) * g.sw + 1]));
      nodes.push({ opType: 'Slice', inputs: [src, `s${t}`, `e${t}`, 'axes', 'steps'], outputs: [`tap${t}`], name: `slice${t}` });
      nodes.push({ opType: 'Reshape', inputs: [`tap${t}`, 'rows'], outputs: [`col${t}`], name: `col${t}` });
      cols.push(`col${t}`);
    }
  }
  tapProducts(g, cols, 'dy2', nodes, inits);
  return {
    nodes,
    inits,
    inputs: [
      ['x', xShape],
      ['dy', yShape],
    ],
    out: [g.kh, g.kw, g.Ci, g.Co],
    prepare: (s, x, dy) => ({ x: feed(plainCopy(s, 0, x), xShape), dy: feed(plainCopy(s, 1, dy), yShape) }),
  };
}

function createEntry(s: State, kind: ConvKernel, g: Geometry): Entry {
  const graph = buildGraph(kind, g, s.options.nchwc ? nchwcBlockSize(s) : null);
  const bytes = encodeOnnxModel({
    producerName: 'ragan',
    producerVersion: '1',
    opsetVersion: 17,
    graphName: kind,
    nodes: graph.nodes,
    initializers: graph.inits,
    inputs: graph.inputs.map(([name, dims]) => ({ name, dims })),
    outputs: [{ name: 'out', dims: graph.out }],
    ...(graph.domains ? { opsetImports: graph.domains } : {}),
  });
  const session = s.binding.createSession(bytes, sessionOptions(s));
  return { session, verified: false, outShape: graph.out, prepare: graph.prepare, nchwc: graph.domains !== undefined };
}

function sessionOptions(s: State): Record<string, unknown> {
  return {
    intraOpNumThreads: s.options.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Each session keeps an arena of its peak intermediates (the transposed or sliced copies): without it
    // every run maps fresh pages, measured 1.1–2.6× slower. Pool threads must not spin after a run: wasm
    // works in between.
    enableCpuMemArena: true,
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

const NCHWC = 'com.microsoft.nchwc';

/**
 * MLAS's NCHWc block size, asked once of ONNX Runtime: its `ReorderInput` pads 4 channels up to one
 * block. Null when that fails or the block is under 8 (no NCHWc kernels on this CPU or build).
 */
function nchwcBlockSize(s: State): number | null {
  if (s.nchwc !== undefined) return s.nchwc;
  s.nchwc = null;
  let session: NativeSession | null = null;
  try {
    const bytes = encodeOnnxModel({
      producerName: 'ragan',
      producerVersion: '1',
      opsetVersion: 17,
      graphName: 'nchwc-probe',
      nodes: [{ opType: 'ReorderInput', domain: NCHWC, inputs: ['x'], outputs: ['out'], name: 'reorder', attrs: { channels_last: 1 } }],
      initializers: [],
      inputs: [{ name: 'x', dims: [1, 1, 1, 4] }],
      outputs: [{ name: 'out', dims: [1, 'C', 1, 1] }],
      opsetImports: { [NCHWC]: 1 },
    });
    session = s.binding.createSession(bytes, sessionOptions(s));
    const dims = session.run({ x: feed(new Float32Array(4), [1, 1, 1, 4]) }, { out: null }, {}).out?.dims;
    const block = dims?.[1];
    if (typeof block === 'number' && block >= 8 && block <= 64 && (block & (block - 1)) === 0) s.nchwc = block;
  } catch {
    // no NCHWc kernels: the standard graphs run
  } finally {
    session?.dispose?.();
  }
  return s.nchwc;
}

/**
 * A convolution by MLAS's NCHWc kernels, its fastest (AVX-512/AVX2 direct convolutions on channel
 * blocks): `ReorderInput` from NHWC, the NCHWc `Conv`, `ReorderOutput` to NHWC, all three in ONNX
 * Runtime's `com.microsoft.nchwc` domain. ONNX Runtime uses them itself only for constant weights; here
 * the filter is a graph input, reordered to its blocked layout (nchwcFilter) while it is copied out of
 * the wasm heap. Measured against the standard graph (NHWC transposes around a `Conv`), both with their
 * filters arranged in JS, alternating in one process: 1.05–1.09× faster with 128 channels at 32² and
 * 64², 1.2–1.5× with 32 or 64 channels at 64²–128², 1.25–1.6× at stride 2.
 * - `flipped`: the stride-1 input gradient, a convolution of dy with the filter flipped in space and
 *   its channels swapped.
 * - The convolution's input channels must be whole blocks; its output channels are padded to a block
 *   with zero filters, and `ReorderOutput` drops them.
 */
function nchwcConvGraph(g: Geometry, block: number, flipped: boolean): Graph {
  const { inShape, outShape, O, I, pads, strides } = convLayout(g, flipped ? 'flipped' : 'forward');
  const wShape = [Math.ceil(O / block) * block, I, g.kh, g.kw];
  return {
    domains: { [NCHWC]: 1 },
    nodes: [
      { opType: 'ReorderInput', domain: NCHWC, inputs: ['x'], outputs: ['x_c'], name: 'reorder_in', attrs: { channels_last: 1 } },
      {
        opType: 'Conv',
        domain: NCHWC,
        inputs: ['x_c', 'w'],
        outputs: ['y_c'],
        name: 'conv',
        attrs: { kernel_shape: ints(g.kh, g.kw), pads: ints(...pads), strides: ints(...strides), dilations: ints(g.dh, g.dw) },
      },
      { opType: 'ReorderOutput', domain: NCHWC, inputs: ['y_c'], outputs: ['out'], name: 'reorder_out', attrs: { channels: O, channels_last: 1 } },
    ],
    inits: [],
    inputs: [
      ['x', inShape],
      ['w', wShape],
    ],
    out: outShape,
    prepare: (s, x, w) => ({ x: feed(plainCopy(s, 0, x), inShape), w: feed(nchwcFilter(s, w, g, block, flipped), wShape) }),
  };
}

/**
 * A tfjs filter [kh, kw, Ci, Co] in MLAS's blocked layout OIHWBiBo: [O/bs][I/bs][kh·kw][bi][bo], with
 * O = Co and I = Ci, or, `flipped`, O = Ci, I = Co and the taps reversed; O is zero-padded to whole
 * blocks (I must be whole blocks).
 */
function nchwcFilter(s: State, w: Float32Array, g: Geometry, block: number, flipped: boolean): Float32Array {
  const taps = g.kh * g.kw;
  const { Ci, Co } = g;
  const O = flipped ? Ci : Co;
  const I = flipped ? Co : Ci;
  const OB = Math.ceil(O / block);
  const IB = I / block;
  const dst = scratch(s, 1, OB * block * I * taps);
  dst.fill(0);
  for (let ob = 0; ob < OB; ob++) {
    const o0 = ob * block;
    const m = Math.min(block, O - o0);
    for (let ib = 0; ib < IB; ib++) {
      for (let k = 0; k < taps; k++) {
        for (let bi = 0; bi < block; bi++) {
          const i = ib * block + bi;
          const d = (((ob * IB + ib) * taps + k) * block + bi) * block;
          if (flipped) {
            // o = ci, i = co: w[taps − 1 − k][o][i], o strided by Co
            let src = ((taps - 1 - k) * Ci + o0) * Co + i;
            for (let bo = 0; bo < m; bo++, src += Co) dst[d + bo] = w[src]!;
          } else {
            // o = co, i = ci: w[k][i][o], o contiguous
            const src = (k * Ci + i) * Co + o0;
            for (let bo = 0; bo < m; bo++) dst[d + bo] = w[src + bo]!;
          }
        }
      }
    }
  }
  return dst;
}

function heapView(backend: BackendWasm, t: TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(t) as Float32Array;
}

/**
 * Largest |a − b| and largest |b| over two tensors of equal size, in the wasm heap. `finite` is false
 * when the reference `b` holds NaN or ±Inf (then nothing can be judged); a NaN or Inf in `a` alone makes
 * `diff` Infinity.
 */
function compare(backend: BackendWasm, a: TensorInfo, b: TensorInfo): { diff: number; scale: number; finite: boolean } {
  const x = heapView(backend, a);
  const y = heapView(backend, b);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < y.length; i++) {
    const v = y[i]!;
    if (!Number.isFinite(v)) return { diff: Infinity, scale, finite: false };
    const d = Math.abs(x[i]! - v);
    if (!(d <= diff)) diff = Number.isFinite(d) ? d : Infinity;
    const m = Math.abs(v);
    if (m > scale) scale = m;
  }
  return { diff, scale, finite: true };
}

function describeSig(kind: ConvKernel, g: Geometry): string {
  return `${kind} x[${g.B},${g.H},${g.W},${g.Ci}] k${g.kh}×${g.kw}→${g.Co} s${g.sh}×${g.sw}`;
}

function makeKernel(kind: ConvKernel, fallback: tf.KernelFunc): tf.KernelFunc {
  return ((args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }) => {
    const s = state;
    const backend = args.backend as BackendWasm;
    const a = (args.attrs ?? {}) as unknown as ConvAttrs & { inputShape?: number[]; filterShape?: number[] };
    if (!s || typeof backend.typedArrayFromHeap !== 'function') return fallback(args as never);
    const ins = args.inputs as Record<string, TensorInfo>;
    let g: Geometry;
    let tensors: [TensorInfo, TensorInfo];
    if (kind === 'Conv2D') {
      g = geometry(ins.x!.shape, ins.filter!.shape, a);
      tensors = [ins.x!, ins.filter!];
    } else if (kind === 'Conv2DBackpropInput') {
      g = geometry(a.inputShape!, ins.filter!.shape, a);
      tensors = [ins.dy!, ins.filter!];
    } else {
      g = geometry(ins.x!.shape, a.filterShape!, a);
      tensors = [ins.x!, ins.dy!];
    }
    const macs = g.B * g.Ho * g.Wo * g.Co * g.kh * g.kw * g.Ci;
    if (
      macs < s.options.minMacs ||
      unsupported(
        g,
        a,
        tensors.map((t) => t.dtype),
      ) !== null
    ) {
      s.stats.wasm++;
      return fallback(args as never);
    }
    const key = [
      kind,
      `${g.B},${g.H},${g.W},${g.Ci}`,
      `${g.kh},${g.kw},${g.Co}`,
      `${g.Ho},${g.Wo}`,
      `${g.sh},${g.sw},${g.dh},${g.dw}`,
      `${g.top},${g.bottom},${g.left},${g.right}`,
      s.options.nchwc ? 'nchwc' : '',
    ].join('|');
    let entry = s.entries.get(key);
    if (!entry) {
      try {
        entry = createEntry(s, kind, g);
      } catch (e) {
        entry = { session: null, verified: false, outShape: [], prepare: null, nchwc: false };
        s.stats.rejected++;
        s.options.log(`ragan: ${describeSig(kind, g)} stays on wasm: ONNX Runtime could not build it (${firstLine(e)})`);
      }
      s.entries.set(key, entry);
      if (s.entries.size > s.options.maxSessions) {
        const [oldestKey, oldest] = s.entries.entries().next().value as [string, Entry];
        oldest.session?.dispose?.();
        s.entries.delete(oldestKey);
      }
    }
    if (!entry.session) {
      s.stats.wasm++;
      return fallback(args as never);
    }
    let out: TensorInfo;
    try {
      const nativeFeeds = entry.prepare!(s, heapView(backend, tensors[0]), heapView(backend, tensors[1]));
      const result = entry.session.run(nativeFeeds, { out: null }, {}).out;
      const data = result?.data;
      if (!(data instanceof Float32Array) || data.length !== entry.outShape.reduce((p, q) => p * q, 1)) {
        throw new Error(`unexpected result (${data instanceof Float32Array ? `${data.length} floats` : typeof data})`);
      }
      out = backend.makeOutput(entry.outShape, 'float32');
      heapView(backend, out).set(data);
    } catch (e) {
      reject(s, entry, `ONNX Runtime failed (${firstLine(e)})`, kind, g);
      s.stats.wasm++;
      return fallback(args as never);
    }
    if (!entry.verified) {
      let ref: TensorInfo;
      try {
        ref = fallback(args as never) as TensorInfo;
      } catch (e) {
        backend.disposeData(out.dataId);
        throw e;
      }
      const { diff, scale, finite } = compare(backend, out, ref);
      if (!finite || scale === 0) {
        // A reference with NaN/Inf (a diverging step) or all zeros (a zero gradient) proves nothing:
        // use wasm's result this time and check again on the next call.
        backend.disposeData(out.dataId);
        s.stats.wasm++;
        return ref;
      }
      if (!(diff <= s.options.tolerance * scale)) {
        backend.disposeData(out.dataId);
        reject(s, entry, `ONNX Runtime differs from wasm by ${diff.toExponential(2)} (largest value ${scale.toExponential(2)})`, kind, g);
        s.stats.wasm++;
        return ref;
      }
      backend.disposeData(ref.dataId);
      entry.verified = true;
    }
    s.stats.onnx++;
    if (entry.nchwc) s.stats.nchwc++;
    return out;
  }) as tf.KernelFunc;
}

function reject(s: State, entry: Entry, why: string, kind: ConvKernel, g: Geometry): void {
  entry.session?.dispose?.();
  entry.session = null;
  s.stats.rejected++;
  s.options.log(`ragan: ${describeSig(kind, g)} stays on wasm: ${why}`);
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}
