import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeakedTensors, expectTensorsClose, seededValues as values, type ConvLayerCase } from '@ragan/test-utils/tensors';
import { registerCpuTrainingKernels, registerWasmTrainingKernels, restoreStockKernels, WASM_CPU_FALLBACK_KERNELS } from './wasm-training.js';
import { setFilterGradBlockForTests } from './test-hooks.js';
import { setWasmWinograd } from './wasm-winograd.js';
import { heapMemory } from './wasm-heap.js';
import { setWasmGemm, singleThreadGemm } from './wasm-gemm.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type Inputs = Record<string, { shape: number[]; data: Float32Array | Int32Array; dtype?: 'float32' | 'int32' }>;

/** Runs one kernel on a backend with fresh input tensors; returns plain data and checks for leaks. */
async function runOn(backend: string, kernelName: string, inputs: Inputs, attrs: object): Promise<Data> {
  await tf.setBackend(backend);
  const be = tf.engine().backend;
  const idsBefore = be.numDataIds();
  const tensorsBefore = tf.memory().numTensors;
  const ins: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(inputs)) ins[k] = tf.tensor(v.data, v.shape, v.dtype ?? 'float32');
  const out = tf.engine().runKernel(kernelName, ins as unknown as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as tf.Tensor;
  const result = { shape: out.shape, data: out.dataSync() as Float32Array };
  out.dispose();
  for (const t of Object.values(ins)) t.dispose();
  expect(tf.memory().numTensors, 'leaked tensors').toBe(tensorsBefore);
  expect(be.numDataIds(), `${kernelName} on ${backend} leaked backend data`).toBe(idsBefore);
  return result;
}

type Data = { shape: number[]; data: Float32Array };

function expectClose(actual: Data, expected: Data, tol: number): void {
  tf.tidy(() => expectTensorsClose(tf.tensor(actual.data, actual.shape), tf.tensor(expected.data, expected.shape), tol));
}

async function expectSameAsCpu(kernelName: string, inputs: Inputs, attrs: object, tol = 1e-5): Promise<void> {
  const expected = await runOn('cpu', kernelName, inputs, attrs);
  const actual = await runOn('wasm', kernelName, inputs, attrs);
  expectClose(actual, expected, tol);
}

interface ConvCase extends ConvLayerCase {
  k: number;
  stride: number | [number, number];
  /** Long reductions: the cpu kernels accumulate in float64, XNNPACK in float32 (stock wasm Conv2D differs
   * from stock cpu by 1.7e-5 on 2304-term sums), so the float32 rounding bound grows with the length. */
  tol?: number;
}

/** Strides 1/2 × same/valid × kernel 1/3/4/5, cycling batch 1/2, channel pairs and odd sizes; plus explicit pads. */
function convCases(): ConvCase[] {
  const cases: ConvCase[] = [];
  const channels: Array<[number, number]> = [
    [1, 1],
    [3, 4],
    [8, 5],
    [16, 16],
  ];
  const sizes: Array<[number, number]> = [
    [7, 9],
    [8, 8],
    [9, 6],
    [5, 11],
  ];
  let i = 0;
  for (const stride of [1, 2]) {
    for (const pad of ['same', 'valid'] as const) {
      for (const k of [1, 3, 4, 5]) {
        for (const B of [1, 2]) {
          const [Ci, Co] = channels[i % channels.length]!;
          const [H, W] = sizes[(i >> 1) % sizes.length]!;
          cases.push({ name: `B${B} ${H}x${W} ${Ci}->${Co} k${k} s${stride} ${pad}`, B, H, W, Ci, Co, k, stride, pad });
          i++;
        }
      }
    }
  }
  cases.push({ name: 'larger: B2 16x16 32->64 k3 s1 same', B: 2, H: 16, W: 16, Ci: 32, Co: 64, k: 3, stride: 1, pad: 'same', tol: 3e-5 });
  cases.push({ name: 'larger: B2 17x15 24->40 k4 s2 same', B: 2, H: 17, W: 15, Ci: 24, Co: 40, k: 4, stride: 2, pad: 'same', tol: 3e-5 });
  cases.push({ name: 'explicit pad 1', B: 2, H: 7, W: 7, Ci: 3, Co: 2, k: 3, stride: 2, pad: 1 });
  // different strides per axis: the filter gradient's phase images differ in height and width
  cases.push({ name: 'strides [2, 1], odd sizes', B: 2, H: 9, W: 7, Ci: 3, Co: 4, k: 3, stride: [2, 1], pad: 'same' });
  cases.push({ name: 'strides [1, 3], k5 valid', B: 1, H: 8, W: 13, Ci: 2, Co: 3, k: 5, stride: [1, 3], pad: 'valid' });
  cases.push({
    name: 'explicit asymmetric pad',
    B: 1,
    H: 8,
    W: 6,
    Ci: 2,
    Co: 3,
    k: 4,
    stride: 2,
    pad: [
      [0, 0],
      [1, 2],
      [0, 1],
      [0, 0],
    ],
  });
  return cases;
}

function outSize(c: ConvCase): [number, number] {
  const info = tf.backend_util.computeConv2DInfo([c.B, c.H, c.W, c.Ci], [c.k, c.k, c.Ci, c.Co], c.stride, 1, c.pad as 'same');
  return [info.outHeight, info.outWidth];
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.setBackend('wasm');
  registerWasmTrainingKernels();
  registerWasmTrainingKernels(); // idempotent
  // These kernels are tested as compositions of XNNPACK's direct convolution; Winograd (which the input
  // gradient uses on big 3×3 stride-1 layers) has its own tests in wasm-winograd.test.ts.
  setWasmWinograd({ enabled: false });
});

afterAll(() => setWasmWinograd({ enabled: true }));

async function filterGradMatchesCpu(c: ConvCase): Promise<void> {
  const [Ho, Wo] = outSize(c);
  await expectSameAsCpu(
    'Conv2DBackpropFilter',
    {
      x: { shape: [c.B, c.H, c.W, c.Ci], data: values(c.B * c.H * c.W * c.Ci, 1) },
      dy: { shape: [c.B, Ho, Wo, c.Co], data: values(c.B * Ho * Wo * c.Co, 2) },
    },
    { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', filterShape: [c.k, c.k, c.Ci, c.Co] },
    c.tol,
  );
}

describe('wasm Conv2DBackpropFilter (composite of XNNPACK matmuls) matches the cpu kernel', () => {
  it.each(convCases().map((c) => [c.name, c] as const))('%s', (_name, c) => filterGradMatchesCpu(c));
});

describe('wasm Conv2DBackpropFilter in chunks of output rows (big layers) matches the cpu kernel', () => {
  // A block of 300 floats makes every case below run one output row (or a few) per product, summed.
  let previous = 0;
  beforeAll(() => {
    previous = setFilterGradBlockForTests(300);
  });
  afterAll(() => {
    setFilterGradBlockForTests(previous);
  });
  it.each(
    convCases()
      .filter((c) => c.B * c.H > 8)
      .map((c) => [c.name, c] as const),
  )('%s', (_name, c) => filterGradMatchesCpu(c));
});

describe('wasm Conv2DBackpropFilter by our matrix product (Ci a multiple of 4, Co of 8) matches the cpu kernel', () => {
  let calls = 0;
  beforeAll(() => {
    const g = singleThreadGemm(heapMemory(tf.backend() as BackendWasm)!);
    expect(g, 'our matrix product compiles on this Node').not.toBeNull();
    setWasmGemm({ ...g!, mul: (...a) => (calls++, g!.mul(...a)) });
  });
  afterAll(() => {
    setWasmGemm(null);
  });
  // Odd and even sizes (1 to 3 spare images), every pad mode, 1×1 to 5×5, long sums (K > 256: bands).
  const cases: ConvCase[] = [
    { name: 'B1 9x7 8->16 k3 same', B: 1, H: 9, W: 7, Ci: 8, Co: 16, k: 3, stride: 1, pad: 'same' },
    { name: 'B2 10x10 4->8 k5 valid', B: 2, H: 10, W: 10, Ci: 4, Co: 8, k: 5, stride: 1, pad: 'valid' },
    { name: 'B3 6x5 12->24 k1 same', B: 3, H: 6, W: 5, Ci: 12, Co: 24, k: 1, stride: 1, pad: 'same' },
    { name: 'B2 7x9 16->8 k4 same (asymmetric pads)', B: 2, H: 7, W: 9, Ci: 16, Co: 8, k: 4, stride: 1, pad: 'same' },
    { name: 'B1 8x8 4->8 explicit pad 2', B: 1, H: 8, W: 8, Ci: 4, Co: 8, k: 3, stride: 1, pad: 2 },
    { name: 'larger: B2 16x16 32->64 k3 same', B: 2, H: 16, W: 16, Ci: 32, Co: 64, k: 3, stride: 1, pad: 'same', tol: 3e-5 },
    // strides: the taps read phase images of the padded input, one transpose per phase read
    { name: 'B2 9x7 8->16 k3 s2 same (odd sizes)', B: 2, H: 9, W: 7, Ci: 8, Co: 16, k: 3, stride: 2, pad: 'same' },
    { name: 'B1 8x8 4->8 k1 s2 valid (one phase)', B: 1, H: 8, W: 8, Ci: 4, Co: 8, k: 1, stride: 2, pad: 'valid' },
    { name: 'B2 10x11 8->8 k4 s2 valid', B: 2, H: 10, W: 11, Ci: 8, Co: 8, k: 4, stride: 2, pad: 'valid' },
    { name: 'B1 9x13 4->16 k5 strides [1, 3] explicit pad 2', B: 1, H: 9, W: 13, Ci: 4, Co: 16, k: 5, stride: [1, 3], pad: 2 },
    {
      name: 'B1 7x9 8->8 k3 strides [2, 1] asymmetric pads',
      B: 1,
      H: 7,
      W: 9,
      Ci: 8,
      Co: 8,
      k: 3,
      stride: [2, 1],
      pad: [
        [0, 0],
        [1, 2],
        [0, 1],
        [0, 0],
      ],
    },
    { name: 'B3 5x6 4->8 k2 s3 same (stride over the kernel size)', B: 3, H: 5, W: 6, Ci: 4, Co: 8, k: 2, stride: 3, pad: 'same' },
    { name: 'larger: B2 16x16 32->64 k3 s2 pad 1 (as the encoder)', B: 2, H: 16, W: 16, Ci: 32, Co: 64, k: 3, stride: 2, pad: 1, tol: 3e-5 },
  ];
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    calls = 0;
    await filterGradMatchesCpu(c);
    expect(calls, 'one product per tap').toBe(c.k * c.k);
  });
  it('leaves Co not a multiple of 8 and Ci not a multiple of 4 to the composite', async () => {
    for (const c of [
      { name: 'Co 12', B: 1, H: 8, W: 8, Ci: 8, Co: 12, k: 3, stride: 1, pad: 'same' },
      { name: 'Ci 3', B: 1, H: 8, W: 8, Ci: 3, Co: 8, k: 3, stride: 1, pad: 'same' },
    ] as ConvCase[]) {
      calls = 0;
      await filterGradMatchesCpu(c);
      expect(calls, c.name).toBe(0);
    }
  });
});

describe('wasm Conv2DBackpropInput (XNNPACK conv of zero-inserted dy) matches the cpu kernel', () => {
  it.each(convCases().map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const [Ho, Wo] = outSize(c);
    await expectSameAsCpu(
      'Conv2DBackpropInput',
      {
        dy: { shape: [c.B, Ho, Wo, c.Co], data: values(c.B * Ho * Wo * c.Co, 3) },
        filter: { shape: [c.k, c.k, c.Ci, c.Co], data: values(c.k * c.k * c.Ci * c.Co, 4) },
      },
      { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', inputShape: [c.B, c.H, c.W, c.Ci] },
      c.tol,
    );
  });
});

describe('wasm conv gradients through tf.grads match cpu (conv2d and conv2dTranspose)', () => {
  it('stride 2, same padding, batch 2', async () => {
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const x = tf.tensor(values(2 * 9 * 7 * 3, 5), [2, 9, 7, 3]) as tf.Tensor4D;
        const w = tf.tensor(values(3 * 3 * 3 * 6, 6), [3, 3, 3, 6]) as tf.Tensor4D;
        const wt = tf.tensor(values(4 * 4 * 2 * 6, 7), [4, 4, 2, 6]) as tf.Tensor4D;
        const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
          const y = tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same');
          const z = tf.conv2dTranspose(y, c as tf.Tensor4D, [2, 10, 8, 2], 2, 'same');
          return tf.sum(tf.square(z));
        };
        return tf
          .grads(f)([x, w, wt])
          .map((g) => ({ shape: g.shape, data: g.dataSync() as Float32Array }));
      });
    };
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    // Three kernels chained (forward conv on XNNPACK too): float32 rounding compounds, hence 1e-4.
    cpu.forEach((c, i) => expectClose(wasm[i]!, c, 1e-4));
  });
});

describe('wasm BatchMatMul (explicit transposes, split batches) matches the cpu kernel', () => {
  const cases: Array<[string, number[], number[], boolean, boolean]> = [];
  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    cases.push([`2-D 33x47·47x29 ta=${ta} tb=${tb}`, ta ? [47, 33] : [33, 47], tb ? [29, 47] : [47, 29], ta, tb]);
    cases.push([`batched 3×(40x36·36x48) ta=${ta} tb=${tb}`, ta ? [3, 36, 40] : [3, 40, 36], tb ? [3, 48, 36] : [3, 36, 48], ta, tb]);
    cases.push([`b broadcast 2x3×(5x7·7x4) ta=${ta} tb=${tb}`, ta ? [2, 3, 7, 5] : [2, 3, 5, 7], tb ? [1, 4, 7] : [1, 7, 4], ta, tb]);
    cases.push([`a broadcast (64x32)·4×(32x40) ta=${ta} tb=${tb}`, ta ? [1, 32, 64] : [1, 64, 32], tb ? [4, 40, 32] : [4, 32, 40], ta, tb]);
  }
  it.each(cases)('%s', async (_name, aShape, bShape, transposeA, transposeB) => {
    await expectSameAsCpu(
      'BatchMatMul',
      {
        a: {
          shape: aShape,
          data: values(
            aShape.reduce((p, q) => p * q, 1),
            8,
          ),
        },
        b: {
          shape: bShape,
          data: values(
            bShape.reduce((p, q) => p * q, 1),
            9,
          ),
        },
      },
      { transposeA, transposeB },
    );
  });

  it('_FusedMatMul with bias and relu, transposed operands', async () => {
    for (const [ta, tb] of [
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      await expectSameAsCpu(
        '_FusedMatMul',
        {
          a: { shape: ta ? [1, 24, 17] : [1, 17, 24], data: values(17 * 24, 10) },
          b: { shape: tb ? [1, 13, 24] : [1, 24, 13], data: values(24 * 13, 11) },
          bias: { shape: [13], data: values(13, 12) },
        },
        { transposeA: ta, transposeB: tb, activation: 'relu', leakyreluAlpha: 0.2 },
      );
    }
  });
});

describe('cpu fallbacks for kernels wasm lacks', () => {
  it('registers the missing kernels', () => {
    for (const name of WASM_CPU_FALLBACK_KERNELS) {
      if (tf.getKernel(name, 'cpu')) expect(tf.getKernel(name, 'wasm'), name).toBeDefined();
    }
  });

  it('UnsortedSegmentSum (the gradient of gather) matches cpu', async () => {
    await expectSameAsCpu(
      'UnsortedSegmentSum',
      {
        x: { shape: [5, 3], data: values(15, 13) },
        segmentIds: { shape: [5], data: new Int32Array([0, 2, 0, 1, 2]), dtype: 'int32' },
      },
      { numSegments: 4 },
    );
  });

  it('gather gradients agree and leave nothing behind', async () => {
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      let out: Float32Array = new Float32Array();
      await expectNoLeakedTensors(() => {
        const g = tf.tidy(() => {
          const table = tf.tensor(values(6 * 4, 14), [6, 4]);
          return tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.gather(t, [1, 3, 1, 5]))))(table);
        });
        out = g.dataSync() as Float32Array;
        g.dispose();
      });
      return out;
    };
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    expectClose({ shape: [6, 4], data: wasm }, { shape: [6, 4], data: cpu }, 1e-6);
  });
});

describe('resize gradients: cpu replacements and the wasm halfPixelCenters fix', () => {
  const cases: Array<[string, string, number[], [number, number], boolean, boolean]> = [];
  for (const op of ['ResizeNearestNeighbor', 'ResizeBilinear']) {
    cases.push([`${op} 2x upsample, batch 2`, op, [2, 4, 5, 3], [8, 10], false, false]);
    cases.push([`${op} 3x upsample, batch 3, halfPixelCenters`, op, [3, 3, 4, 2], [9, 12], false, true]);
    cases.push([`${op} downsample, alignCorners`, op, [2, 7, 6, 2], [4, 3], true, false]);
    cases.push([`${op} odd ratio, halfPixelCenters`, op, [2, 5, 3, 1], [7, 8], false, true]);
  }

  /** ⟨resize(x), dy⟩ = ⟨x, resizeGrad(dy)⟩: the gradient is the exact adjoint of the forward kernel. */
  it.each(cases)('%s: adjoint of the forward kernel on cpu and wasm, backends agree', async (_n, op, shape, size, alignCorners, halfPixelCenters) => {
    const n = shape.reduce((p, q) => p * q, 1);
    const dyShape = [shape[0]!, size[0], size[1], shape[3]!];
    const m = dyShape.reduce((p, q) => p * q, 1);
    const x = values(n, 15);
    const dy = values(m, 16);
    const attrs = { alignCorners, halfPixelCenters, size };
    await tf.setBackend('cpu');
    registerCpuTrainingKernels();
    const grads: Data[] = [];
    for (const backend of ['cpu', 'wasm']) {
      const fwd = await runOn(backend, op, { images: { shape, data: x } }, attrs);
      const grad = await runOn(backend, `${op}Grad`, { images: { shape, data: x }, dy: { shape: dyShape, data: dy } }, attrs);
      expect(grad.shape).toEqual(shape);
      let lhs = 0;
      let rhs = 0;
      for (let i = 0; i < m; i++) lhs += fwd.data[i]! * dy[i]!;
      for (let i = 0; i < n; i++) rhs += x[i]! * grad.data[i]!;
      expect(Math.abs(lhs - rhs), `${backend}: ${lhs} vs ${rhs}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(lhs)));
      grads.push(grad);
    }
    expectClose(grads[1]!, grads[0]!, 1e-5);
  });
});

describe('optional composite Conv2DBackpropFilter on cpu', () => {
  it('matches the stock cpu kernel', async () => {
    const picked = convCases().filter((_, i) => i % 3 === 0);
    const inputsOf = (c: ConvCase): Inputs => {
      const [Ho, Wo] = outSize(c);
      return {
        x: { shape: [c.B, c.H, c.W, c.Ci], data: values(c.B * c.H * c.W * c.Ci, 17) },
        dy: { shape: [c.B, Ho, Wo, c.Co], data: values(c.B * Ho * Wo * c.Co, 18) },
      };
    };
    const attrsOf = (c: ConvCase) => ({ strides: c.stride, pad: c.pad, dataFormat: 'NHWC', filterShape: [c.k, c.k, c.Ci, c.Co] });
    restoreStockKernels('cpu');
    const expected = [];
    for (const c of picked) expected.push(await runOn('cpu', 'Conv2DBackpropFilter', inputsOf(c), attrsOf(c)));
    registerCpuTrainingKernels({ fastConvFilterGrad: true });
    try {
      for (const [i, c] of picked.entries()) {
        const actual = await runOn('cpu', 'Conv2DBackpropFilter', inputsOf(c), attrsOf(c));
        expectClose(actual, expected[i]!, picked[i]!.tol ?? 1e-5);
      }
    } finally {
      restoreStockKernels('cpu');
      registerCpuTrainingKernels();
    }
  });
});

describe('wasm Identity shares memory instead of copying', () => {
  it('clone() gives equal values; disposing either side keeps the other; no bytes leak', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory();
    const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const heapBefore = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
    const y = x.clone();
    expect(y.dataId).toBe(x.dataId); // the same buffer, counted twice
    x.dispose();
    expect(Array.from(await y.data())).toEqual([1, 2, 3, 4]);
    // an op on the clone reads the shared buffer
    const z = tf.mul(y, 2);
    expect(Array.from(await z.data())).toEqual([2, 4, 6, 8]);
    tf.dispose([y, z]);
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
    expect((tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length).toBe(heapBefore);
    // strings still copy (the stock kernel)
    const s = tf.tensor1d(['a', 'b'], 'string');
    const t = s.clone();
    expect(await t.data()).toEqual(await s.data());
    tf.dispose([s, t]);
  });

  it('gradients through many saved tensors match the cpu backend', async () => {
    const f = (x: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(tf.mul(x, x), 0.2), tf.sin(x)));
    const data = values(64, 9);
    await tf.setBackend('cpu');
    const a = tf.tidy(() => tf.grad(f)(tf.tensor1d(data)).dataSync().slice());
    await tf.setBackend('wasm');
    const b = tf.tidy(() => tf.grad(f)(tf.tensor1d(data)).dataSync().slice());
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-5);
  });
});

describe('wasm SplitV (contiguous copies) matches the cpu kernel', () => {
  it.each([
    [[2, 3, 8], [3, 5], 2],
    [[2, 3, 8], 2, 0],
    [[2, 4, 6], [1, -1, 2], 1],
    [[2, 64, 64, 8], 2, 3],
    [[3, 4], [4, 0], 1], // an empty piece
  ] as Array<[number[], number | number[], number]>)('SplitV of %j into %j along axis %i', async (shp, split, axis) => {
    const data = values(
      shp.reduce((a, b) => a * b, 1),
      31,
    );
    const pieces = async (backend: string) => {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const x = tf.tensor(data, shp);
      const parts = tf.split(x, split, axis);
      const out = parts.map((p) => ({ shape: p.shape, data: Array.from(p.dataSync()) }));
      tf.dispose([x, ...parts]);
      expect(tf.memory().numTensors).toBe(before);
      return out;
    };
    expect(await pieces('wasm')).toEqual(await pieces('cpu'));
  });
});
