/**
 * Where a training step's time goes, per kernel: runs one warm-up step, then one profiled step, and
 * prints the kernels sorted by total time (wasm kernel times are wall-clock per call).
 *
 *   tsx --conditions=@ragan/source bench/profile-step.ts [--preset small] [--batch 2] [--threads 2] [--top 25] [--onnx-convs]
 *
 * --onnx-convs: convolutions run in ONNX Runtime (enableOnnxConvKernels), as `ragan train` does when
 * onnxruntime-node is installed.
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend/init-backend.js';
import { enableWasmThreads } from '../src/node/wasm-threads.js';
import { enableOnnxConvKernels, loadOnnxRuntimeBinding } from '../src/node/onnx-conv-kernels.js';
import { trainFixture, type Preset } from './fixtures.js';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'small' },
    batch: { type: 'string', default: '2' },
    threads: { type: 'string', default: '2' },
    top: { type: 'string', default: '25' },
    'onnx-convs': { type: 'boolean', default: false },
  },
});
const threads = Number(values.threads);
const batch = Number(values.batch);
await initBackend({ backend: 'wasm', quiet: true, threads, beforeWasmInit: threads > 1 ? () => enableWasmThreads(threads) : undefined });
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
console.log(`phases (ms): ${Object.entries(phaseMs).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`);
t = performance.now();
const info = await tf.profile(() => {
  train.step();
});
const wall = performance.now() - t;
const byName = new Map<string, { ms: number; n: number }>();
let sum = 0;
for (const k of info.kernels) {
  const ms = (await k.kernelTimeMs) as number;
  const e = byName.get(k.name) ?? { ms: 0, n: 0 };
  e.ms += ms;
  e.n += 1;
  sum += ms;
  byName.set(k.name, e);
}
// the wasm heap only grows: its size is the high-water mark of live tensors plus fragmentation
const heap = (tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } }).wasm?.HEAPU8.length;
console.log(
  `step ${plain.toFixed(0)} ms unprofiled; profiled ${wall.toFixed(0)} ms, kernels ${sum.toFixed(0)} ms in ${info.kernels.length} calls; ` +
    `peak of live tensors ${(info.peakBytes / 2 ** 30).toFixed(2)} GiB${heap ? `; wasm heap ${(heap / 2 ** 30).toFixed(2)} GiB of 4` : ''}`,
);
const rows = [...byName.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(values.top));
for (const [name, e] of rows) console.log(`${name.padEnd(28)} ${e.ms.toFixed(0).padStart(7)} ms ${((100 * e.ms) / sum).toFixed(1).padStart(5)} %  ${String(e.n).padStart(5)} calls`);

