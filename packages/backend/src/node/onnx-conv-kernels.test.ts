import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fileUrl, resolverFrom, runTsChild } from '@ragan/test-utils/child-process';
import { initBackend } from '../init-backend.js';
import { setWasmWinograd } from '../wasm-winograd.js';
import {
  disableOnnxConvKernels,
  enableOnnxConvKernels,
  loadOnnxRuntimeBinding,
  onnxConvKernelsEnabled,
  onnxConvStats,
  type OnnxNativeBinding,
} from './onnx-conv-kernels.js';

// ONNX Runtime's convolutions inside the wasm backend. onnxruntime-node is a devDependency of this package, so
// these tests always have it (CI installs it from the lockfile).

let binding: OnnxNativeBinding;

beforeAll(async () => {
  // The wasm reference is XNNPACK's direct convolution: Winograd (big 3×3 layers, tested in
  // wasm-winograd.test.ts) rounds differently, by ≈1e-5 of the largest value.
  await initBackend({ backend: 'wasm', quiet: true, wasmWinograd: false });
  const probe = await loadOnnxRuntimeBinding((s) => import(s));
  if (!probe.ok) throw new Error(`onnxruntime-node should load in tests: ${probe.reason}`);
  binding = probe.binding;
});

afterEach(() => disableOnnxConvKernels());
afterAll(() => {
  disableOnnxConvKernels();
  setWasmWinograd({ enabled: true });
});

interface Case {
  name: string;
  x: [number, number, number, number];
  k: [number, number];
  co: number;
  stride: number | [number, number];
  pad: 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
  dilation?: number;
}

const CASES: Case[] = [
  { name: '3×3 same, Ci ≥ 32 (one product per tap)', x: [2, 9, 7, 32], k: [3, 3], co: 16, stride: 1, pad: 'same' },
  { name: '5×5 valid, three images of odd size, Ci ≥ 32', x: [3, 9, 11, 32], k: [5, 5], co: 9, stride: 1, pad: 'valid' },
  {
    name: 'explicit asymmetric pads, Ci ≥ 32',
    x: [2, 7, 8, 36],
    k: [3, 3],
    co: 10,
    stride: 1,
    pad: [
      [0, 0],
      [2, 0],
      [0, 1],
      [0, 0],
    ],
  },
  {
    name: 'explicit asymmetric pads, whole NCHWc blocks in and out',
    x: [2, 7, 8, 16],
    k: [3, 3],
    co: 16,
    stride: 1,
    pad: [
      [0, 0],
      [2, 0],
      [0, 1],
      [0, 0],
    ],
  },
  { name: '3×3 stride 2 same, even size', x: [2, 12, 10, 8], k: [3, 3], co: 12, stride: 2, pad: 'same' },
  { name: '3×3 stride 2 same, odd size', x: [1, 11, 9, 40], k: [3, 3], co: 8, stride: 2, pad: 'same' },
  // whole NCHWc blocks in, a part block out (24 = 16 + 8 output channels)
  { name: '3×3 stride 2 same, odd size, Ci = 32, Co = 24', x: [2, 11, 9, 32], k: [3, 3], co: 24, stride: 2, pad: 'same' },
  { name: '3×3 stride 2 valid, a leftover row and column', x: [2, 10, 9, 6], k: [3, 3], co: 5, stride: 2, pad: 'valid' },
  { name: '7×7 RGB stem (columns concatenated)', x: [2, 16, 16, 3], k: [7, 7], co: 8, stride: 1, pad: 'same' },
  { name: '1×1', x: [3, 5, 6, 33], k: [1, 1], co: 7, stride: 1, pad: 'valid' },
  // (Not 1×3 with strides [2, 1] 'same': stock tfjs-backend-wasm 4.22 returns zeros for that forward conv.)
  { name: '3×1 kernel, strides [1, 2]', x: [1, 8, 9, 4], k: [3, 1], co: 6, stride: [1, 2], pad: 'same' },
  {
    name: 'explicit asymmetric pads',
    x: [2, 7, 8, 5],
    k: [3, 3],
    co: 4,
    stride: 1,
    pad: [
      [0, 0],
      [2, 0],
      [0, 1],
      [0, 0],
    ],
  },
  // pads wider than the kernel: the stride-1 input gradient cannot be a flipped Conv, ConvTranspose runs
  {
    name: 'explicit pads wider than the kernel',
    x: [1, 6, 7, 4],
    k: [3, 3],
    co: 5,
    stride: 1,
    pad: [
      [0, 0],
      [3, 1],
      [1, 3],
      [0, 0],
    ],
  },
  {
    name: '4×4 stride 2 explicit pad 1 (PatchGAN-style)',
    x: [1, 16, 16, 8],
    k: [4, 4],
    co: 8,
    stride: 2,
    pad: [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ],
  },
];

/** Deterministic inputs; the conv, and its gradients with respect to x and the filter. */
function convAndGrads(c: Case): { y: Float32Array; dx: Float32Array; dw: Float32Array } {
  return tf.tidy(() => {
    const x = tf.randomUniform(c.x, -1, 1, 'float32', 3) as tf.Tensor4D;
    const w = tf.randomUniform([c.k[0], c.k[1], c.x[3], c.co], -0.5, 0.5, 'float32', 4) as tf.Tensor4D;
    const f = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.conv2d(a, b, c.stride, c.pad);
    const y = f(x, w);
    const probe = tf.randomUniform(y.shape, -1, 1, 'float32', 5);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor4D), probe)))([x, w]);
    return { y: y.dataSync() as Float32Array, dx: dx!.dataSync() as Float32Array, dw: dw!.dataSync() as Float32Array };
  });
}

function relDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return d / Math.max(s, 1e-12);
}

describe('ONNX Runtime convolutions on the wasm backend', () => {
  for (const c of CASES) {
    it(`${c.name}: forward, input and filter gradients match the wasm kernels`, () => {
      const wasm = convAndGrads(c);
      const tensors = tf.memory().numTensors;
      const ids = tf.engine().backend.numDataIds();
      const lines: string[] = [];
      enableOnnxConvKernels(binding, { threads: 2, minMacs: 0, log: (l) => lines.push(l) });
      const first = convAndGrads(c); // checked against wasm inside the kernels
      const second = convAndGrads(c); // served by the cached sessions
      const stats = onnxConvStats();
      expect(lines).toEqual([]);
      // per run: the forward conv, the forward again inside tf.grads, and the two gradients
      expect(stats).toMatchObject({ onnx: 8, wasm: 0, rejected: 0, sessions: 3 });
      for (const k of ['y', 'dx', 'dw'] as const) {
        expect(relDiff(first[k], wasm[k]), k).toBeLessThan(1e-5);
        expect(relDiff(second[k], wasm[k]), k).toBeLessThan(1e-5);
      }
      expect(tf.memory().numTensors, 'leaked tensors').toBe(tensors);
      expect(tf.engine().backend.numDataIds(), 'leaked backend data').toBe(ids);
    });
  }

  it('rewrites every padding zero when a layer reuses the buffers of a bigger one', () => {
    // The filter gradient writes its padded input into buffers kept across calls; the second layer's
    // pads fall where the first layer's values were.
    const big: Case = { name: 'big', x: [2, 12, 12, 40], k: [3, 3], co: 8, stride: 1, pad: 'valid' };
    const small: Case = {
      name: 'small',
      x: [1, 6, 5, 40],
      k: [3, 3],
      co: 8,
      stride: 1,
      pad: [
        [0, 0],
        [2, 1],
        [1, 2],
        [0, 0],
      ],
    };
    const wasm = [convAndGrads(big), convAndGrads(small)];
    enableOnnxConvKernels(binding, { threads: 1, minMacs: 0, log: (l) => expect.fail(l) });
    const onnx = [convAndGrads(big), convAndGrads(small), convAndGrads(big), convAndGrads(small)];
    expect(onnxConvStats()).toMatchObject({ onnx: 16, wasm: 0, rejected: 0 });
    onnx.forEach((r, i) => {
      for (const k of ['y', 'dx', 'dw'] as const) expect(relDiff(r[k], wasm[i % 2]![k]), `${k} of call ${i}`).toBeLessThan(1e-5);
    });
  });

  it("runs the forward and the stride-1 input gradient by MLAS's NCHWc kernels when the channels are whole blocks", () => {
    const c: Case = { name: 'blocks', x: [2, 9, 7, 32], k: [3, 3], co: 16, stride: 1, pad: 'same' };
    const wasm = convAndGrads(c);
    enableOnnxConvKernels(binding, { threads: 2, minMacs: 0, log: (l) => expect.fail(l) });
    const onnx = convAndGrads(c);
    const stats = onnxConvStats();
    // NCHWc kernels exist on every x64 CPU with AVX2 (block 8) or AVX-512 (block 16)
    if (process.arch === 'x64') expect([8, 16]).toContain(stats.nchwcBlock);
    if (stats.nchwcBlock) {
      // the forward twice (once inside tf.grads) and the input gradient: 32 and 16 channels are whole
      // blocks; the filter gradient stays a product
      expect(stats).toMatchObject({ onnx: 4, nchwc: 3, rejected: 0 });
    } else {
      expect(stats).toMatchObject({ onnx: 4, nchwc: 0, rejected: 0 });
    }
    for (const k of ['y', 'dx', 'dw'] as const) expect(relDiff(onnx[k], wasm[k]), k).toBeLessThan(1e-5);
  });

  it('runs a dilated forward conv with whole NCHWc blocks', () => {
    const x = tf.randomUniform([1, 12, 11, 16], -1, 1, 'float32', 7) as tf.Tensor4D;
    const w = tf.randomUniform([3, 3, 16, 12], -1, 1, 'float32', 8) as tf.Tensor4D;
    const ref = tf.conv2d(x, w, 1, 'same', 'NHWC', 2);
    enableOnnxConvKernels(binding, { threads: 1, minMacs: 0, log: (l) => expect.fail(l) });
    const y = tf.conv2d(x, w, 1, 'same', 'NHWC', 2);
    const stats = onnxConvStats();
    expect(stats).toMatchObject({ onnx: 1, rejected: 0, nchwc: stats.nchwcBlock ? 1 : 0 });
    expect(relDiff(y.dataSync() as Float32Array, ref.dataSync() as Float32Array)).toBeLessThan(1e-5);
    tf.dispose([x, w, ref, y]);
  });

  it('runs a dilated stride-1 forward conv too', () => {
    const x = tf.randomUniform([1, 12, 12, 4], -1, 1, 'float32', 7) as tf.Tensor4D;
    const w = tf.randomUniform([3, 3, 4, 6], -1, 1, 'float32', 8) as tf.Tensor4D;
    const ref = tf.conv2d(x, w, 1, 'same', 'NHWC', 2);
    enableOnnxConvKernels(binding, { threads: 1, minMacs: 0 });
    const y = tf.conv2d(x, w, 1, 'same', 'NHWC', 2);
    expect(onnxConvStats()).toMatchObject({ onnx: 1, rejected: 0 });
    expect(relDiff(y.dataSync() as Float32Array, ref.dataSync() as Float32Array)).toBeLessThan(1e-5);
    tf.dispose([x, w, ref, y]);
  });

  it('keeps a layer on wasm, with one line naming it, when ONNX Runtime disagrees on first use', () => {
    const c = CASES[0]!;
    const wasm = convAndGrads(c);
    const ids = tf.engine().backend.numDataIds();
    const lines: string[] = [];
    // A negative tolerance fails every check: the stand-in for an ONNX Runtime that computes wrongly.
    enableOnnxConvKernels(binding, { threads: 1, minMacs: 0, tolerance: -1, log: (l) => lines.push(l) });
    const first = convAndGrads(c);
    const second = convAndGrads(c);
    for (const k of ['y', 'dx', 'dw'] as const) {
      expect(first[k]).toEqual(wasm[k]); // exactly the wasm kernels' results
      expect(second[k]).toEqual(wasm[k]);
    }
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^ragan: Conv2D x\[2,9,7,32\] k3×3→16 s1×1 stays on wasm: ONNX Runtime differs from wasm by /);
    expect(lines.join('\n')).toMatch(/Conv2DBackpropInput .* stays on wasm/);
    expect(lines.join('\n')).toMatch(/Conv2DBackpropFilter .* stays on wasm/);
    expect(onnxConvStats()).toMatchObject({ onnx: 0, wasm: 8, rejected: 3, sessions: 0 });
    expect(tf.engine().backend.numDataIds(), 'leaked backend data').toBe(ids);
  });

  it('does not judge a layer on a first call whose wasm result holds NaN, and checks it on the next', () => {
    enableOnnxConvKernels(binding, { threads: 1, minMacs: 0, log: () => expect.fail('nothing to report') });
    const w = tf.randomUniform([3, 3, 4, 4], -1, 1, 'float32', 1) as tf.Tensor4D;
    const bad = tf.tensor4d(
      Float32Array.from({ length: 64 * 4 }, (_, i) => (i === 37 ? NaN : (i % 7) / 7)),
      [1, 8, 8, 4],
    );
    const good = tf.randomUniform([1, 8, 8, 4], -1, 1, 'float32', 2) as tf.Tensor4D;
    const y1 = tf.conv2d(bad, w, 1, 'same');
    expect(onnxConvStats()).toMatchObject({ onnx: 0, wasm: 1, rejected: 0, sessions: 1 });
    expect(Array.from(y1.dataSync()).some(Number.isNaN)).toBe(true);
    const y2 = tf.conv2d(good, w, 1, 'same');
    expect(onnxConvStats()).toMatchObject({ onnx: 1, wasm: 1, rejected: 0, sessions: 1 });
    tf.dispose([w, bad, good, y1, y2]);
  });

  it('falls back to wasm, with one line, when ONNX Runtime throws', () => {
    const broken: OnnxNativeBinding = {
      createSession: () => ({
        loadModel: () => undefined,
        run: () => {
          throw new Error('out of memory\n  at native code');
        },
      }),
    };
    const lines: string[] = [];
    enableOnnxConvKernels(broken, { threads: 1, minMacs: 0, log: (l) => lines.push(l) });
    const c = CASES[0]!;
    const ids = tf.engine().backend.numDataIds();
    const r = convAndGrads(c);
    disableOnnxConvKernels();
    const wasm = convAndGrads(c);
    for (const k of ['y', 'dx', 'dw'] as const) expect(r[k]).toEqual(wasm[k]);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe('ragan: Conv2D x[2,9,7,32] k3×3→16 s1×1 stays on wasm: ONNX Runtime failed (out of memory)');
    expect(tf.engine().backend.numDataIds(), 'leaked backend data').toBe(ids);
  });

  it('leaves layers below minMacs on wasm without building a session', () => {
    enableOnnxConvKernels(binding, { threads: 1, minMacs: 1e9 });
    convAndGrads(CASES[0]!);
    expect(onnxConvStats()).toMatchObject({ onnx: 0, wasm: 4, rejected: 0, sessions: 0 });
  });

  it('keeps at most maxSessions sessions, freeing the oldest', () => {
    enableOnnxConvKernels(binding, { threads: 1, minMacs: 0, maxSessions: 2 });
    const w = tf.randomUniform([3, 3, 8, 8], -1, 1, 'float32', 1) as tf.Tensor4D;
    const ys = [6, 7, 8, 6].map((h) => {
      const x = tf.randomUniform([1, h, h, 8], -1, 1, 'float32', h) as tf.Tensor4D;
      const y = tf.conv2d(x, w, 1, 'same');
      x.dispose();
      return y;
    });
    // size 6 was evicted by 8 and ran (and was checked) again
    expect(onnxConvStats()).toMatchObject({ onnx: 4, wasm: 0, rejected: 0, sessions: 2 });
    tf.dispose([w, ...ys]);
  });

  it('disableOnnxConvKernels puts the previous kernels back', () => {
    const before = ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'].map((k) => tf.getKernel(k, 'wasm')!.kernelFunc);
    enableOnnxConvKernels(binding, { threads: 1 });
    expect(onnxConvKernelsEnabled()).toBe(true);
    const during = ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'].map((k) => tf.getKernel(k, 'wasm')!.kernelFunc);
    during.forEach((k, i) => expect(k).not.toBe(before[i]));
    disableOnnxConvKernels();
    expect(onnxConvKernelsEnabled()).toBe(false);
    const after = ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'].map((k) => tf.getKernel(k, 'wasm')!.kernelFunc);
    after.forEach((k, i) => expect(k).toBe(before[i]));
  });

  it('is at least as accurate as the wasm kernel against a float64 convolution', () => {
    const [H, W, CI, CO] = [16, 16, 128, 64];
    const x = tf.randomUniform([1, H, W, CI], -1, 1, 'float32', 3) as tf.Tensor4D;
    const w = tf.randomUniform([3, 3, CI, CO], -0.5, 0.5, 'float32', 4) as tf.Tensor4D;
    const xs = x.dataSync();
    const ws = w.dataSync();
    const exact = new Float64Array(H * W * CO);
    for (let h = 0; h < H; h++) {
      for (let c = 0; c < W; c++) {
        for (let co = 0; co < CO; co++) {
          let sum = 0;
          for (let i = 0; i < 3; i++) {
            for (let j = 0; j < 3; j++) {
              const hh = h + i - 1;
              const cc = c + j - 1;
              if (hh < 0 || hh >= H || cc < 0 || cc >= W) continue;
              for (let ci = 0; ci < CI; ci++) sum += xs[(hh * W + cc) * CI + ci]! * ws[((i * 3 + j) * CI + ci) * CO + co]!;
            }
          }
          exact[(h * W + c) * CO + co] = sum;
        }
      }
    }
    const rmsError = (t: tf.Tensor) => {
      const a = t.dataSync();
      let e = 0;
      for (let i = 0; i < a.length; i++) e += (a[i]! - exact[i]!) ** 2;
      t.dispose();
      return Math.sqrt(e / a.length);
    };
    const wasmError = rmsError(tf.conv2d(x, w, 1, 'same'));
    enableOnnxConvKernels(binding, { threads: 1, minMacs: 0 });
    const onnxError = rmsError(tf.conv2d(x, w, 1, 'same'));
    expect(onnxConvStats().onnx).toBe(1);
    expect(onnxError).toBeLessThanOrEqual(wasmError); // seen: 1.1e-6 against 3.2e-6
    tf.dispose([x, w]);
  });
});

describe('loadOnnxRuntimeBinding', () => {
  it('says "not installed" when the package is missing', async () => {
    const err = Object.assign(new Error("Cannot find package 'onnxruntime-node' imported from /app/x.js"), { code: 'ERR_MODULE_NOT_FOUND' });
    await expect(loadOnnxRuntimeBinding(() => Promise.reject(err))).resolves.toEqual({ ok: false, reason: 'onnxruntime-node is not installed' });
  });

  it('says the native binding did not load when its .node file fails', async () => {
    const err = new Error('/app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node: invalid ELF header');
    const r = await loadOnnxRuntimeBinding(() => Promise.reject(err));
    expect(r).toEqual({ ok: false, reason: expect.stringMatching(/native binding did not load \(.*invalid ELF header\)/) });
  });

  it('refuses a binding of another shape instead of calling into it', async () => {
    const r = await loadOnnxRuntimeBinding(() => Promise.resolve({ default: { binding: { InferenceSession: class {} }, initOrt: () => {} } }));
    expect(r).toEqual({ ok: false, reason: expect.stringMatching(/no synchronous loadModel\/run/) });
    const r2 = await loadOnnxRuntimeBinding(() => Promise.resolve({ binding: {} }));
    expect(r2).toEqual({ ok: false, reason: expect.stringMatching(/not the one this version of @ragan\/backend knows/) });
  });
});

// The threaded wasm build keeps tensors in a SharedArrayBuffer, which ONNX Runtime's binding cannot read:
// that path copies. Threads start once per process, so it runs in a child.
const here = path.dirname(fileURLToPath(import.meta.url));
const pkgDir = path.join(here, '..', '..');
const resolveHere = resolverFrom(import.meta.url);
const url = fileUrl;
const CHILD = `
const { enableWasmThreads } = await import(${JSON.stringify(url(path.join(here, 'wasm-threads.ts')))});
const { initBackend } = await import(${JSON.stringify(url(path.join(here, '..', 'init-backend.ts')))});
const k = await import(${JSON.stringify(url(path.join(here, 'onnx-conv-kernels.ts')))});
const tfm = await import(${JSON.stringify(url(resolveHere('@tensorflow/tfjs')))});
const tf = tfm.default ?? tfm;
const info = await initBackend({ backend: 'wasm', threads: 2, quiet: true, beforeWasmInit: () => enableWasmThreads(2) });
const probe = await k.loadOnnxRuntimeBinding(() => import(${JSON.stringify(url(path.join(path.dirname(resolveHere('onnxruntime-node')), 'binding.js')))}));
const x = tf.randomUniform([2, 12, 10, 40], -1, 1, 'float32', 1);
const w = tf.randomUniform([3, 3, 40, 24], -1, 1, 'float32', 2);
const w1 = tf.randomUniform([3, 3, 40, 16], -1, 1, 'float32', 3);
// a stride-2 layer and a stride-1 one (whose filter gradient reads windows of one padded copy)
const f = (a, b, c) => tf.add(tf.sum(tf.square(tf.conv2d(a, b, 2, 'same'))), tf.sum(tf.square(tf.conv2d(a, c, 1, 'same'))));
const run = () => { const [dx, dw, dw1] = tf.grads(f)([x, w, w1]); return [tf.conv2d(x, w, 2, 'same'), dx, dw, dw1].map((t) => Array.from(t.dataSync())); };
const wasm = run();
k.enableOnnxConvKernels(probe.binding, { threads: 2, minMacs: 0 });
const onnx = run();
const heapShared = tf.backend().wasm.HEAPU8.buffer instanceof SharedArrayBuffer;
process.stdout.write(JSON.stringify({ threads: info.threads, heapShared, stats: k.onnxConvStats(), wasm, onnx }));
`;

describe('ONNX Runtime convolutions with two wasm threads (shared heap)', () => {
  it('copies tensors out of the shared heap and matches wasm', async () => {
    const out = await runTsChild(CHILD, [], { cwd: pkgDir, name: 'child with 2 wasm threads' });
    const r = JSON.parse(out) as { threads: number; heapShared: boolean; stats: { onnx: number; rejected: number }; wasm: number[][]; onnx: number[][] };
    expect(r.threads).toBe(2);
    expect(r.heapShared).toBe(true);
    // the stride-2 forward twice, the stride-1 forward once, and the four gradients
    expect(r.stats).toMatchObject({ onnx: 7, wasm: 0, rejected: 0, sessions: 6 });
    expect(r.onnx).toHaveLength(4);
    for (let i = 0; i < 4; i++) expect(relDiff(Float32Array.from(r.onnx[i]!), Float32Array.from(r.wasm[i]!))).toBeLessThan(1e-5);
  });
});
