import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { seededValues as values, type ConvLayerCase, type ConvPad } from '@ragan/test-utils/tensors';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from './wasm-training.js';
import { F2, F4, winogradGradSimd, type WinogradMatrices } from './wasm-winograd-simd.js';
import { setWinogradChunkForTests, winogradGradSimdBytesForTests, winogradSimdBytesForTests } from './test-hooks.js';
import { setWasmGemm, singleThreadGemm } from './wasm-gemm.js';
import { heapMemory } from './wasm-heap.js';
import {
  prepareWasmWinograd,
  setWasmWinograd,
  wasmWinogradCalls,
  winogradConv3x3,
  winogradFilterGrad3x3,
  winogradTransforms,
  type WinogradPads,
} from './wasm-winograd.js';

type Case = ConvLayerCase;

const cases: Case[] = [
  { name: '8×8 same', B: 1, H: 8, W: 8, Ci: 16, Co: 16, pad: 'same' },
  { name: 'odd 7×5 same (partial last tiles)', B: 1, H: 7, W: 5, Ci: 16, Co: 20, pad: 'same' },
  { name: 'batch 2, 9×10 valid', B: 2, H: 9, W: 10, Ci: 20, Co: 16, pad: 'valid' },
  {
    name: 'explicit asymmetric pads',
    B: 1,
    H: 11,
    W: 6,
    Ci: 16,
    Co: 24,
    pad: [
      [0, 0],
      [0, 2],
      [2, 1],
      [0, 0],
    ],
  },
  { name: 'pad 1, 13×17, 32→8', B: 2, H: 13, W: 17, Ci: 32, Co: 8, pad: 1 },
  { name: 'the 4-channel minimum, 6×6 same', B: 1, H: 6, W: 6, Ci: 4, Co: 4, pad: 'same' },
  { name: '24×20 same, 64→32', B: 1, H: 24, W: 20, Ci: 64, Co: 32, pad: 'same' },
];

/** conv2d on the cpu backend (float64 accumulation), as plain data. */
async function cpuConv(c: Case, x: Float32Array, f: Float32Array): Promise<{ shape: number[]; data: Float32Array }> {
  await tf.setBackend('cpu');
  const y = tf.tidy(() => tf.conv2d(tf.tensor4d(x, [c.B, c.H, c.W, c.Ci]), tf.tensor4d(f, [3, 3, c.Ci, c.Co]), 1, c.pad as 'same'));
  const out = { shape: y.shape, data: y.dataSync() as Float32Array };
  y.dispose();
  await tf.setBackend('wasm');
  return out;
}

/** max |a − b| over max |b|: Winograd's rounding is relative to the output's scale, not per element. */
function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return worst / scale;
}

function padsOf(c: Case): WinogradPads {
  const info = tf.backend_util.computeConv2DInfo([c.B, c.H, c.W, c.Ci], [3, 3, c.Ci, c.Co], 1, 1, c.pad as 'same');
  const { top, bottom, left, right } = info.padInfo;
  return { top, bottom, left, right };
}

/** Runs winogradConv3x3 with transforms `w`; checks that no backend data is left behind. */
function runWinograd(c: Case, w: WinogradMatrices, x: Float32Array, f: Float32Array): { shape: number[]; data: Float32Array } {
  const be = tf.backend() as BackendWasm;
  const simd = winogradTransforms(be, w);
  expect(simd, 'the SIMD transforms compile on this Node').not.toBeNull();
  const xt = tf.tensor4d(x, [c.B, c.H, c.W, c.Ci]);
  const ft = tf.tensor4d(f, [3, 3, c.Ci, c.Co]);
  const ids = be.numDataIds();
  const info = winogradConv3x3(be, simd!, tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc, xt, ft, padsOf(c));
  expect(be.numDataIds(), 'only the output is left').toBe(ids + 1);
  const y = tf.engine().makeTensorFromTensorInfo(info);
  const out = { shape: y.shape, data: y.dataSync() as Float32Array };
  tf.dispose([y, xt, ft]);
  return out;
}

/** Every eligible layer takes Winograd, whatever its size. */
const all = { minMacs: 0, minTiles: 0 };

/** Our one-thread matrix product for a describe block: the Winograd gradients run their products by it. */
function useSingleThreadGemm(): void {
  beforeAll(() => {
    setWasmGemm(singleThreadGemm(heapMemory(tf.backend() as BackendWasm)!));
  });
  afterAll(() => {
    setWasmGemm(null);
  });
}

/**
 * The gradient of Σ conv2d(x, w) ⊙ r with respect to x or w, through tf.grad on the active backend, with
 * x, w and r seeded `seed`, `seed` + 1 and `seed` + 2. A fixed r makes dy = r, whatever the forward's
 * rounding.
 */
function convGrad(layer: Case, wrt: 'x' | 'w', seed: number): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(values(layer.B * layer.H * layer.W * layer.Ci, seed), [layer.B, layer.H, layer.W, layer.Ci]);
    const w = tf.tensor4d(values(9 * layer.Ci * layer.Co, seed + 1), [3, 3, layer.Ci, layer.Co]);
    const conv = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, layer.pad as 'same');
    const y = conv(x, w);
    const r = tf.tensor(values(y.size, seed + 2), y.shape);
    const g = wrt === 'x' ? tf.grad((v) => conv(v, w).mul(r).sum())(x) : tf.grad((v) => conv(x, v).mul(r).sum())(w);
    return g.dataSync() as Float32Array;
  });
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.setBackend('wasm');
  registerWasmTrainingKernels();
});

afterEach(() => {
  setWasmWinograd('defaults');
});

describe('WebAssembly SIMD transforms', () => {
  it.each([
    ['F(2×2)', F2],
    ['F(4×4)', F4],
  ] as const)('%s assembles into a valid module, shared memory or not', (_name, w) => {
    expect(WebAssembly.validate(winogradSimdBytesForTests(w, false))).toBe(true);
    expect(WebAssembly.validate(winogradSimdBytesForTests(w, true))).toBe(true);
    expect(WebAssembly.validate(winogradGradSimdBytesForTests(w, false)), "the filter gradient's").toBe(true);
    expect(WebAssembly.validate(winogradGradSimdBytesForTests(w, true)), "the filter gradient's").toBe(true);
  });

  it('compile asynchronously for the wasm heap (as initBackend does)', async () => {
    expect(await prepareWasmWinograd(tf.backend() as BackendWasm)).toBe(true);
  });
});

// Measured here: F(2×2) within 2.3e-6 of the largest output, F(4×4) within 1.4e-5 (float32 direct
// convolution: ≈1e-6). The bounds leave room for other inputs, and would catch any indexing mistake
// (those give errors of order 1).
describe.each([
  ['F(2×2, 3×3)', F2, 1e-5],
  ['F(4×4, 3×3)', F4, 6e-5],
] as const)('Winograd %s matches the cpu conv2d', (_name, w, tol) => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const x = values(c.B * c.H * c.W * c.Ci, 1);
    const f = values(9 * c.Ci * c.Co, 2);
    const expected = await cpuConv(c, x, f);
    const actual = runWinograd(c, w, x, f);
    expect(actual.shape).toEqual(expected.shape);
    expect(relError(actual.data, expected.data)).toBeLessThan(tol);
  });

  it('in chunks of tile rows (big layers) gives the same result', async () => {
    const c = cases[4]!;
    const x = values(c.B * c.H * c.W * c.Ci, 3);
    const f = values(9 * c.Ci * c.Co, 4);
    const whole = runWinograd(c, w, x, f);
    const previous = setWinogradChunkForTests(1);
    try {
      const chunked = runWinograd(c, w, x, f);
      expect(Array.from(chunked.data)).toEqual(Array.from(whole.data)); // the same sums, in the same order
    } finally {
      setWinogradChunkForTests(previous);
    }
  });
});

describe('the wasm Conv2D kernel', () => {
  const c: Case = { name: '', B: 2, H: 12, W: 10, Ci: 32, Co: 32, pad: 'same' };

  it('takes the Winograd path for 3×3 stride-1 convolutions above the threshold, and matches cpu', async () => {
    const x = values(c.B * c.H * c.W * c.Ci, 5);
    const f = values(9 * c.Ci * c.Co, 6);
    const expected = await cpuConv(c, x, f);
    setWasmWinograd(all);
    wasmWinogradCalls(true);
    const before = tf.memory().numTensors;
    const ids = tf.engine().backend.numDataIds();
    const y = tf.tidy(() => tf.conv2d(tf.tensor4d(x, [c.B, c.H, c.W, c.Ci]), tf.tensor4d(f, [3, 3, c.Ci, c.Co]), 1, 'same'));
    expect(wasmWinogradCalls(true)).toEqual({ winograd: 1, stock: 0, filterGrad: 0, inputGrad: 0 });
    expect(relError(y.dataSync(), expected.data)).toBeLessThan(6e-5);
    y.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.engine().backend.numDataIds(), 'backend data left behind').toBe(ids);
  });

  it.each([
    [
      'explicit pads, 2 on top',
      [
        [0, 0],
        [2, 0],
        [1, 2],
        [0, 0],
      ] as ConvPad,
    ],
    ['pad 1 (numeric)', 1 as ConvPad],
    ['valid', 'valid' as ConvPad],
  ])('matches cpu with %s', async (_n, pad) => {
    const d: Case = { ...c, pad };
    const x = values(d.B * d.H * d.W * d.Ci, 11);
    const f = values(9 * d.Ci * d.Co, 12);
    const expected = await cpuConv(d, x, f);
    setWasmWinograd(all);
    wasmWinogradCalls(true);
    const y = tf.tidy(() => tf.conv2d(tf.tensor4d(x, [d.B, d.H, d.W, d.Ci]), tf.tensor4d(f, [3, 3, d.Ci, d.Co]), 1, pad as 'same'));
    expect(wasmWinogradCalls(true).winograd).toBe(1);
    expect(y.shape).toEqual(expected.shape);
    expect(relError(y.dataSync(), expected.data)).toBeLessThan(6e-5);
    y.dispose();
  });

  it('gives exact zeros where the whole 3×3 window is zero, as the direct convolution does', () => {
    // A face-mask-like input: non-zero in a disc, zero around it.
    const d: Case = { ...c, B: 1, H: 20, W: 20 };
    const x = values(d.H * d.W * d.Ci, 13);
    for (let h = 0; h < d.H; h++) {
      for (let w = 0; w < d.W; w++) {
        if ((h - 9.5) ** 2 + (w - 9.5) ** 2 > 36) x.fill(0, (h * d.W + w) * d.Ci, (h * d.W + w + 1) * d.Ci);
      }
    }
    const f = values(9 * d.Ci * d.Co, 14);
    const conv = () => tf.tidy(() => tf.conv2d(tf.tensor4d(x, [1, d.H, d.W, d.Ci]), tf.tensor4d(f, [3, 3, d.Ci, d.Co]), 1, 'same').dataSync() as Float32Array);
    setWasmWinograd({ enabled: false });
    const direct = conv();
    setWasmWinograd({ enabled: true, ...all });
    wasmWinogradCalls(true);
    const wino = conv();
    expect(wasmWinogradCalls(true).winograd).toBe(1);
    const zeros = direct.reduce((n, v) => n + (v === 0 ? 1 : 0), 0);
    expect(zeros).toBeGreaterThan(100 * d.Co);
    for (let i = 0; i < direct.length; i++) if (direct[i] === 0) expect(wino[i], `output ${i}`).toBe(0);
  });

  it('frees everything when a product fails midway', () => {
    const be = tf.backend() as BackendWasm;
    const simd = winogradTransforms(be, F4)!;
    const stock = tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc;
    let n = 0;
    const failing: tf.KernelFunc = (args) => {
      if (++n === 5) throw new Error('no memory (test)');
      return stock(args);
    };
    const xt = tf.tensor4d(values(c.B * c.H * c.W * c.Ci, 15), [c.B, c.H, c.W, c.Ci]);
    const ft = tf.tensor4d(values(9 * c.Ci * c.Co, 16), [3, 3, c.Ci, c.Co]);
    const ids = be.numDataIds();
    expect(() => winogradConv3x3(be, simd, failing, xt, ft, { top: 1, bottom: 1, left: 1, right: 1 })).toThrow('no memory (test)');
    expect(be.numDataIds()).toBe(ids);
    tf.dispose([xt, ft]);
  });

  it.each([
    ['stride 2', { strides: 2, k: 3, Ci: 32, Co: 32 }],
    ['5×5 filter', { strides: 1, k: 5, Ci: 32, Co: 32 }],
    ['3 input channels', { strides: 1, k: 3, Ci: 3, Co: 32 }],
    ['16 output channels (under 32)', { strides: 1, k: 3, Ci: 32, Co: 16 }],
  ] as const)('keeps the stock kernel for %s', (_n, s) => {
    setWasmWinograd(all);
    wasmWinogradCalls(true);
    tf.tidy(() => tf.conv2d(tf.ones([1, 8, 8, s.Ci]) as tf.Tensor4D, tf.ones([s.k, s.k, s.Ci, s.Co]) as tf.Tensor4D, s.strides, 'same').dataSync());
    expect(wasmWinogradCalls(true)).toEqual({ winograd: 0, stock: 1, filterGrad: 0, inputGrad: 0 });
  });

  it('keeps the stock kernel below minMacs or minTiles, or when switched off (and then gives its exact results)', async () => {
    const x = values(c.B * c.H * c.W * c.Ci, 7);
    const f = values(9 * c.Ci * c.Co, 8);
    const conv = () => tf.tidy(() => tf.conv2d(tf.tensor4d(x, [c.B, c.H, c.W, c.Ci]), tf.tensor4d(f, [3, 3, c.Ci, c.Co]), 1, 'same').dataSync());
    wasmWinogradCalls(true);
    const small = conv(); // 2·12·10·32·32·9 = 2.2 M multiply-adds < 2²⁵
    setWasmWinograd({ minMacs: 0 }); // 2·3·3 = 18 tiles < 64
    const few = conv();
    setWasmWinograd({ enabled: false, ...all });
    const off = conv();
    expect(wasmWinogradCalls(true)).toEqual({ winograd: 0, stock: 3, filterGrad: 0, inputGrad: 0 });
    expect(Array.from(few)).toEqual(Array.from(small));
    expect(Array.from(off)).toEqual(Array.from(small));
  });
});

describe('the wasm Conv2DBackpropInput kernel', () => {
  useSingleThreadGemm();
  const inputGrad = (layer: Case) => convGrad(layer, 'x', 9);

  // The gradient's conv has Co input and Ci output channels, and pads 2 − pad: `valid` becomes 2 on
  // every side. 36 output channels take XNNPACK's products (ours need a multiple of 8).
  const layers: Case[] = [
    { name: 'same, odd 13×17, 36→32 (partial tiles)', B: 2, H: 13, W: 17, Ci: 32, Co: 36, pad: 'same' },
    { name: 'valid, 12×10, 36 input channels', B: 1, H: 12, W: 10, Ci: 36, Co: 32, pad: 'valid' },
    {
      name: 'explicit asymmetric pads',
      B: 1,
      H: 11,
      W: 9,
      Ci: 32,
      Co: 32,
      pad: [
        [0, 0],
        [0, 2],
        [2, 1],
        [0, 0],
      ],
    },
  ];

  // Measured: within 3.3e-7 of the largest gradient (F(4×4): from 2e-6 up, see
  // wasm-winograd.ts for why it is not used here).
  it.each(layers.map((c) => [c.name, c] as const))('runs by F(2×2, 3×3) and matches cpu: %s', async (_n, c) => {
    await tf.setBackend('cpu');
    const expected = inputGrad(c);
    await tf.setBackend('wasm');
    setWasmWinograd(all);
    wasmWinogradCalls(true);
    const before = tf.memory().numTensors;
    const ids = tf.engine().backend.numDataIds();
    const actual = inputGrad(c);
    expect(wasmWinogradCalls(true)).toEqual({ winograd: 2, stock: 0, filterGrad: 0, inputGrad: 1 });
    expect(relError(actual, expected)).toBeLessThan(2e-6);
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.engine().backend.numDataIds(), 'backend data left behind').toBe(ids);
  });

  it('takes big layers at the default thresholds, and leaves small ones, inputGrad: false and enabled: false to XNNPACK', async () => {
    const big: Case = { name: '', B: 2, H: 32, W: 32, Ci: 64, Co: 64, pad: 'same' }; // 75 M multiply-adds, 128 tiles
    const small: Case = { ...big, H: 12, W: 12 }; // 10.6 M < 2²⁵
    await tf.setBackend('cpu');
    const expected = inputGrad(big);
    await tf.setBackend('wasm');
    wasmWinogradCalls(true);
    expect(relError(inputGrad(big), expected)).toBeLessThan(2e-6);
    expect(wasmWinogradCalls(true).inputGrad).toBe(1);
    inputGrad(small);
    expect(wasmWinogradCalls(true).inputGrad).toBe(0);
    setWasmWinograd({ inputGrad: false });
    const direct = inputGrad(big);
    expect(wasmWinogradCalls(true).inputGrad).toBe(0);
    expect(relError(direct, expected)).toBeLessThan(1e-6);
    setWasmWinograd({ inputGrad: true, enabled: false });
    expect(Array.from(inputGrad(big))).toEqual(Array.from(direct));
    expect(wasmWinogradCalls(true)).toEqual({ winograd: 0, stock: 2, filterGrad: 0, inputGrad: 0 });
  });
});

afterAll(() => {
  setWasmWinograd('defaults');
});

// ---------------------------------------------------------------------------------------------------
// The filter gradient by F(3×3, m×m).
// ---------------------------------------------------------------------------------------------------

/**
 * The forward's layers whose Co is a multiple of 8 (the product's panels), but 24×20 (slow on the cpu
 * backend's filter gradient), plus partial last tiles at the 4- and 8-channel minimums, pads past the
 * output, and a smaller 64→32 layer.
 */
const gradCases: Case[] = [
  ...cases.filter((c) => c.Co % 8 === 0 && c.H * c.W < 400),
  { name: 'odd 7×5 same (partial last tiles), 4→8', B: 1, H: 7, W: 5, Ci: 4, Co: 8, pad: 'same' },
  { name: 'pad 2 (rows and columns past the output), 13×17, 32→8', B: 2, H: 13, W: 17, Ci: 32, Co: 8, pad: 2 },
  { name: '20×12 same, 64→32', B: 1, H: 20, W: 12, Ci: 64, Co: 32, pad: 'same' },
];

function dyShape(c: Case): [number, number, number, number] {
  const info = tf.backend_util.computeConv2DInfo([c.B, c.H, c.W, c.Ci], [3, 3, c.Ci, c.Co], 1, 1, c.pad as 'same');
  return [c.B, info.outHeight, info.outWidth, c.Co];
}

/** The filter gradient on the cpu backend (stock kernel), as plain data. */
async function cpuFilterGrad(c: Case, x: Float32Array, dy: Float32Array): Promise<Float32Array> {
  await tf.setBackend('cpu');
  const dw = tf.tidy(
    () =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.tensor4d(x, [c.B, c.H, c.W, c.Ci]), dy: tf.tensor4d(dy, dyShape(c)) }, {
        strides: 1,
        pad: c.pad,
        dataFormat: 'NHWC',
        filterShape: [3, 3, c.Ci, c.Co],
      } as unknown as tf.NamedAttrMap) as tf.Tensor,
  );
  const out = dw.dataSync() as Float32Array;
  dw.dispose();
  await tf.setBackend('wasm');
  return out;
}

/** Runs winogradFilterGrad3x3 with the points of `w` and our one-thread product; checks that no backend data is left behind. */
function runFilterGrad(c: Case, w: WinogradMatrices, x: Float32Array, dy: Float32Array): { shape: number[]; data: Float32Array } {
  const be = tf.backend() as BackendWasm;
  const mem = heapMemory(be)!;
  const simd = winogradTransforms(be, w);
  const grad = winogradGradSimd(mem, w);
  const gemm = singleThreadGemm(mem);
  expect(simd && grad && gemm, 'the SIMD loops compile on this Node').toBeTruthy();
  const xt = tf.tensor4d(x, [c.B, c.H, c.W, c.Ci]);
  const dyt = tf.tensor4d(dy, dyShape(c));
  const ids = be.numDataIds();
  const info = winogradFilterGrad3x3(be, simd!, grad!, gemm!, xt, dyt, padsOf(c));
  expect(be.numDataIds(), 'only the output is left').toBe(ids + 1);
  const dw = tf.engine().makeTensorFromTensorInfo(info);
  const out = { shape: dw.shape, data: dw.dataSync() as Float32Array };
  tf.dispose([dw, xt, dyt]);
  return out;
}

// Measured here: F(3×3, 2×2) within 8.1e-7 of the largest gradient on these cases, F(3×3, 4×4) within
// 4.2e-6 (and 2.2e-5 on 4×128² 32→64 against the matrix-product gradient). Indexing mistakes give
// errors of order 1.
describe.each([
  ['F(3×3, 2×2)', F2, 1e-5],
  ['F(3×3, 4×4)', F4, 6e-5],
] as const)('the Winograd filter gradient %s matches the cpu kernel', (_name, w, tol) => {
  it.each(gradCases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const x = values(c.B * c.H * c.W * c.Ci, 11);
    const dy = values(
      dyShape(c).reduce((a, b) => a * b),
      12,
    );
    const expected = await cpuFilterGrad(c, x, dy);
    const actual = runFilterGrad(c, w, x, dy);
    expect(actual.shape).toEqual([3, 3, c.Ci, c.Co]);
    expect(relError(actual.data, expected)).toBeLessThan(tol);
  });

  it("in chunks of tile rows (big layers), the chunks' gradients summed, gives the same result", async () => {
    const c = gradCases.find((g) => g.pad === 2)!;
    const x = values(c.B * c.H * c.W * c.Ci, 13);
    const dy = values(
      dyShape(c).reduce((a, b) => a * b),
      14,
    );
    const whole = runFilterGrad(c, w, x, dy);
    const previous = setWinogradChunkForTests(1);
    try {
      const chunked = runFilterGrad(c, w, x, dy);
      expect(relError(chunked.data, whole.data)).toBeLessThan(1e-5); // the same products, summed in another order
      expect(relError(chunked.data, await cpuFilterGrad(c, x, dy))).toBeLessThan(tol);
    } finally {
      setWinogradChunkForTests(previous);
    }
  });

  it('rejects a dy that does not fit the input and pads, and leaves nothing behind', () => {
    const be = tf.backend() as BackendWasm;
    const mem = heapMemory(be)!;
    const [x, dy] = [tf.zeros([1, 8, 8, 16]), tf.zeros([1, 8, 8, 16])];
    const ids = be.numDataIds();
    const valid = { top: 0, bottom: 0, left: 0, right: 0 };
    expect(() => winogradFilterGrad3x3(be, winogradTransforms(be, w)!, winogradGradSimd(mem, w)!, singleThreadGemm(mem)!, x, dy, valid)).toThrow(
      /dy 1,8,8,16 does not fit input 1,8,8,16/,
    );
    expect(be.numDataIds()).toBe(ids);
    tf.dispose([x, dy]);
  });
});

describe('the wasm Conv2DBackpropFilter kernel', () => {
  const c: Case = { name: '', B: 2, H: 16, W: 16, Ci: 32, Co: 32, pad: 'same' }; // 9.4 M multiply-adds
  useSingleThreadGemm();
  const filterGrad = (layer: Case) => convGrad(layer, 'w', 15);

  it('runs big 3×3 stride-1 filter gradients by Winograd, and matches cpu', async () => {
    await tf.setBackend('cpu');
    const expected = filterGrad(c);
    await tf.setBackend('wasm');
    wasmWinogradCalls(true);
    const before = tf.memory().numTensors;
    const actual = filterGrad(c);
    expect(tf.memory().numTensors).toBe(before);
    expect(wasmWinogradCalls(true).filterGrad).toBe(1);
    expect(relError(actual, expected)).toBeLessThan(6e-5);
  });

  it('leaves small layers, 12 output channels and filterGrad: false to the matrix-product gradient', async () => {
    const small: Case = { ...c, B: 1, H: 8, W: 8 }; // 1.2 M multiply-adds < 2²²
    const co12: Case = { ...c, Co: 12 };
    for (const layer of [small, co12]) {
      await tf.setBackend('cpu');
      const expected = filterGrad(layer);
      await tf.setBackend('wasm');
      wasmWinogradCalls(true);
      const actual = filterGrad(layer);
      expect(wasmWinogradCalls(true).filterGrad, `${layer.H}² ${layer.Ci}→${layer.Co}`).toBe(0);
      expect(relError(actual, expected)).toBeLessThan(1e-5);
    }
    setWasmWinograd({ filterGrad: false });
    wasmWinogradCalls(true);
    filterGrad(c);
    expect(wasmWinogradCalls(true).filterGrad).toBe(0);
  });
});
