/**
 * The tfjs side of paired timing (`bench/paired.ts` at the repository root): reads one request per
 * stdin line, runs it ONCE and answers with one JSON line `{"ms": …}` (or `{"error": …}`). The caller
 * alternates these with the PyTorch twin's (`pytorch_twin.py THREADS serve`), so both sides are timed
 * in the same moments of a machine whose speed drifts.
 *
 *   tsx --conditions=@ragan/source bench/serve.ts --threads 2
 *
 * Requests (networks and tensors are built on first use and kept until `reset`):
 *   conv OP [onnx]            3×3 conv 128→128 at 64², batch 1: forward | inputGrad | filterGrad (as packages/backend/bench/conv.ts)
 *   gen PRESET B wasm|onnx    generator forward, B images (onnx: onnxruntime-node, checked against tfjs)
 *   train PRESET B [onnx]     one GanTrainer.trainStep with R1 (as core-bench.ts)
 * A trailing `onnx` on conv and train runs the wasm backend's convolutions in ONNX Runtime
 * (enableOnnxConvKernels); every other request runs with wasm's own kernels.
 *   reset                     dispose everything built so far (frees the wasm heap for the next item)
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { disableOnnxConvKernels, initNodeBackend } from '@ragan/backend/node';
import { createOnnxGenerator, type OrtModuleLike } from '../src/onnx/runtime.js';
import { stride1ConvOps, useOnnxConvs, type ConvBenchOp } from '../../backend/bench/conv.js';
import { generatorFixture, trainFixture, type Preset } from './fixtures.js';
const PRESETS: readonly string[] = ['tiny', 'small', 'paper'];

const { values } = parseArgs({ options: { threads: { type: 'string', default: '2' } } });
const threads = Number(values.threads);
const info = await initNodeBackend({ backend: 'wasm', quiet: true, threads }); // as `ragan` does: threads, relaxed SIMD

interface Entry {
  run: () => Promise<void>;
  dispose: () => Promise<void> | void;
}
const cache = new Map<string, Entry>();

function preset(p: string | undefined): Preset {
  if (!p || !PRESETS.includes(p)) throw new Error(`unknown preset ${p}: use tiny, small or paper`);
  return p as Preset;
}

/** Switches the wasm backend's convolutions between ONNX Runtime and wasm (sessions are freed on the way back). */
async function convsIn(where: 'onnx' | 'wasm'): Promise<void> {
  if (where === 'onnx') await useOnnxConvs(threads);
  else disableOnnxConvKernels();
}

async function build(parts: string[]): Promise<Entry> {
  const [kind, a, b, c] = parts;
  if ((kind === 'conv' && b !== undefined && b !== 'onnx') || (kind === 'train' && c !== undefined && c !== 'onnx')) {
    throw new Error(`unknown option in "${parts.join(' ')}": only a trailing onnx`);
  }
  if (kind === 'conv') {
    const conv = stride1ConvOps();
    const op = conv.ops[a as ConvBenchOp];
    if (!op) throw new Error(`unknown conv op ${a}: use forward, inputGrad or filterGrad`);
    return {
      // wasm's kernels (and ONNX Runtime's, inside them) run synchronously: when op() returns, the
      // result is in the wasm heap, as PyTorch's is in its memory when its call returns. Copying it out
      // (dataSync, 1.4 ms for these 2 MB) is no part of a layer's work and is not timed.
      run: async () => op().dispose(),
      dispose: () => conv.dispose(),
    };
  }
  if (kind === 'gen') {
    const batch = Number(b);
    if (!(batch >= 1)) throw new Error(`batch must be ≥ 1, got ${b}`);
    const f = generatorFixture(preset(a), batch);
    if (c === 'onnx') {
      const ort = (await import('onnxruntime-node')) as unknown as OrtModuleLike;
      const o = await createOnnxGenerator(ort, f.g, { threads });
      return { run: async () => (await o.apply(f.x, f.mask, f.target)).dispose(), dispose: async () => (await o.dispose(), f.dispose()) };
    }
    if (c !== 'wasm') throw new Error(`unknown runtime ${c}: use wasm or onnx`);
    return {
      run: async () => {
        const out = f.g.apply(f.x, f.mask, f.target);
        await out.data();
        out.dispose();
      },
      dispose: f.dispose,
    };
  }
  if (kind === 'train') {
    const batch = Number(b);
    if (!(batch >= 1 && batch <= 8)) throw new Error(`batch must be 1–8, got ${b}`);
    const train = trainFixture(preset(a), batch);
    return { run: async () => void train.step(), dispose: train.dispose };
  }
  throw new Error(`unknown request "${parts.join(' ')}"`);
}

process.stdout.write(`${JSON.stringify({ ready: true, backend: info.name, threads: info.threads ?? threads })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  const parts = line.trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0) continue;
  try {
    if (parts[0] === 'reset') {
      for (const e of cache.values()) await e.dispose();
      cache.clear();
      process.stdout.write(`${JSON.stringify({ ms: 0 })}\n`);
      continue;
    }
    const onnxConvs = (parts[0] === 'conv' && parts[2] === 'onnx') || (parts[0] === 'train' && parts[3] === 'onnx');
    await convsIn(onnxConvs ? 'onnx' : 'wasm');
    const key = parts.join(' ');
    let entry = cache.get(key);
    if (!entry) {
      entry = await build(parts);
      cache.set(key, entry);
    }
    const t0 = performance.now();
    await entry.run();
    process.stdout.write(`${JSON.stringify({ ms: Math.round((performance.now() - t0) * 1000) / 1000 })}\n`);
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ error: ((e as Error).message ?? String(e)).split('\n')[0] })}\n`);
  }
}
