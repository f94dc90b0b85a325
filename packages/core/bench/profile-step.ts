/**
 * Where a training step's time goes, per kernel: runs one warm-up step, then one profiled step, and
 * prints the kernels sorted by total time (wasm kernel times are wall-clock per call).
 *
 *   tsx --conditions=@ragan/source bench/profile-step.ts [--preset small] [--batch 2] [--threads 2] [--top 25] [--onnx-convs]
 *     [--detail Conv2DBackpropInput]
 *
 * --onnx-convs: convolutions run in ONNX Runtime (enableOnnxConvKernels), as `ragan train` does when
 * onnxruntime-node is installed.
 * --detail NAME: also that kernel's time by input and output shapes (which layers it is slow on).
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { enableOnnxConvKernels, initNodeBackend, loadOnnxRuntimeBinding } from '@ragan/backend/node';
import { trainFixture, type Preset } from './fixtures.js';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'small' },
    batch: { type: 'string', default: '2' },
    threads: { type: 'string', default: '2' },
    top: { type: 'string', default: '25' },
    'onnx-convs': { type: 'boolean', default: false },
    detail: { type: 'string', multiple: true, default: [] },
  },
});
const threads = Number(values.threads);
const batch = Number(values.batch);
await initNodeBackend({ backend: 'wasm', quiet: true, threads }); // as `ragan` does: threads, relaxed SIMD
if (values['onnx-convs']) {
  const probe = await loadOnnxRuntimeBinding((s) => import(s));
  if (!probe.ok) throw new Error(probe.reason);
  enableOnnxConvKernels(probe.binding, { threads });
}
const train = trainFixture(values.preset as Preset, batch);
let t = performance.now();
train.step();
console.log(`warm-up step ${(performance.now() - t).toFixed(0)} ms`);
t = performance.now();
const { phaseMs } = train.step();
const plain = performance.now() - t;
console.log(
  `phases (ms): ${Object.entries(phaseMs)
    .map(([k, v]) => `${k} ${v.toFixed(0)}`)
    .join(', ')}`,
);
t = performance.now();
const info = await tf.profile(() => {
  train.step();
});
const wall = performance.now() - t;
const byName = new Map<string, { ms: number; n: number }>();
const byShape = new Map<string, { ms: number; n: number }>();
let sum = 0;
const add = (m: Map<string, { ms: number; n: number }>, key: string, ms: number) => {
  const e = m.get(key) ?? { ms: 0, n: 0 };
  e.ms += ms;
  e.n += 1;
  m.set(key, e);
};
for (const k of info.kernels) {
  const ms = (await k.kernelTimeMs) as number;
  add(byName, k.name, ms);
  if (values.detail.includes(k.name)) add(byShape, `${k.name} ${k.inputShapes.map((s) => `[${s}]`).join(' ')} → [${k.outputShapes[0]}]`, ms);
  sum += ms;
}
// the wasm heap only grows: its size is the high-water mark of live tensors plus fragmentation
const heap = (tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } }).wasm?.HEAPU8.length;
console.log(
  `step ${plain.toFixed(0)} ms unprofiled; profiled ${wall.toFixed(0)} ms, kernels ${sum.toFixed(0)} ms in ${info.kernels.length} calls; ` +
    `peak of live tensors ${(info.peakBytes / 2 ** 30).toFixed(2)} GiB${heap ? `; wasm heap ${(heap / 2 ** 30).toFixed(2)} GiB of 4` : ''}`,
);
const rows = [...byName.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(values.top));
for (const [name, e] of rows)
  console.log(`${name.padEnd(28)} ${e.ms.toFixed(0).padStart(7)} ms ${((100 * e.ms) / sum).toFixed(1).padStart(5)} %  ${String(e.n).padStart(5)} calls`);
if (byShape.size > 0) {
  console.log('\nby shapes (inputs → output):');
  for (const [key, e] of [...byShape.entries()].sort((a, b) => b[1].ms - a[1].ms)) {
    console.log(`${e.ms.toFixed(0).padStart(7)} ms  ${String(e.n).padStart(4)} calls  ${key}`);
  }
}
