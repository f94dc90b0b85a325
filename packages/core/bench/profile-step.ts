/**
 * Where a training step's time goes, per kernel: runs one warm-up step, then one profiled step, and
 * prints the kernels sorted by total time (wasm kernel times are wall-clock per call).
 *
 *   tsx --conditions=@ragan/source bench/profile-step.ts [--preset small] [--batch 2] [--threads 2] [--top 25]
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend/init-backend.js';
import { enableWasmThreads } from '../src/node/wasm-threads.js';
import { trainFixture, type Preset } from './fixtures.js';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'small' },
    batch: { type: 'string', default: '2' },
    threads: { type: 'string', default: '2' },
    top: { type: 'string', default: '25' },
  },
});
const threads = Number(values.threads);
const batch = Number(values.batch);
await initBackend({ backend: 'wasm', quiet: true, threads, beforeWasmInit: threads > 1 ? () => enableWasmThreads(threads) : undefined });
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

const DW = (globalThis as any).__dw; if (DW) { console.log(JSON.stringify({ tr: DW.tr, fill: DW.fill, mm: DW.mm })); for (const [k, v] of Object.entries(DW.shapes as Record<string, number>).sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(k.padEnd(50), (v as number).toFixed(0)); }
