/**
 * `pnpm --filter @ragan/core bench`: per backend configuration (wasm 1 thread, wasm 2 threads, cpu for
 * tiny only) — generator forward ms/img (batch 1), one full G+D training iteration with R1 (batch 4),
 * (batch 4 for tiny, 2 for small: batch 4 does not fit the wasm heap) and the 3×3 conv 128→128 @64² GFLOP/s for forward, input gradient and filter gradient.
 * Each configuration runs in its own process (wasm threads are fixed at initialisation).
 * Writes `bench/results/core.json` at the repository root. Medians of several runs after a warm-up.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/init-backend.js';
import { enableWasmThreads } from '../src/node/wasm-threads.js';
import { createRagan } from '../src/ragan.js';
import { groupTarget } from '../src/models/targets.js';
import { GanTrainer } from '../src/training/gan-trainer.js';
import { VERSION } from '../src/version.js';
import { benchConv } from './conv.js';

type Preset = 'tiny' | 'small';
interface ChildSpec {
  backend: 'wasm' | 'cpu';
  threads: number;
  presets: Preset[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round = (v: number) => Math.round(v * 10) / 10;

async function child(spec: ChildSpec) {
  const info = await initBackend({
    backend: spec.backend,
    quiet: true,
    threads: spec.threads,
    fastCpuConvFilterGrad: spec.backend === 'cpu',
    beforeWasmInit: spec.threads > 1 ? () => enableWasmThreads(spec.threads) : undefined,
  });
  const threads = info.threads ?? spec.threads;
  const rows: Record<string, unknown>[] = [];
  if (spec.backend === 'wasm') {
    for (const r of await benchConv({ backend: 'wasm', threads: spec.threads })) rows.push({ bench: 'conv3x3', ...r });
  }
  for (const preset of spec.presets) {
    const model = createRagan(preset, { seed: 1 });
    const res = model.config.resolution;
    const fwdReps = spec.backend === 'cpu' ? 2 : 5;
    const x1 = tf.randomUniform([1, res, res, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
    const m1 = tf.ones([1, res, res, 1]) as tf.Tensor4D;
    const y1 = groupTarget([8], 10);
    const times: number[] = [];
    for (let i = 0; i <= fwdReps; i++) {
      const t0 = performance.now();
      const out = model.emaGenerator.apply(x1, m1, y1);
      out.dataSync();
      out.dispose();
      if (i > 0) times.push(performance.now() - t0);
    }
    rows.push({ bench: 'generatorForward', preset, backend: info.name, threads, shape: `[1,${res},${res},3]`, batch: 1, medianMsPerImage: round(median(times)), runs: fwdReps });

    // small at batch 4 does not fit the 4 GiB wasm heap (measured: batch 2 with R1 peaks at ~2.4 GiB)
    const batch = preset === 'small' ? 2 : 4;
    const images = tf.randomUniform([batch, res, res, 3], -1, 1, 'float32', 2) as tf.Tensor4D;
    const masks = tf.ones([batch, res, res, 1]) as tf.Tensor4D;
    // r1Every 1: every timed iteration includes R1 (the worst case; lazy R1 amortises it by 1/16)
    const trainer = new GanTrainer({ ...model, numGroups: 10, r1Every: 1 });
    const stepReps = preset === 'small' || spec.backend === 'cpu' ? 2 : 4;
    const stepTimes: number[] = [];
    for (let i = 0; i <= stepReps; i++) {
      const t0 = performance.now();
      trainer.trainStep({ images, masks, groups: [0, 3, 6, 9].slice(0, batch) });
      if (i > 0) stepTimes.push(performance.now() - t0);
    }
    const ms = median(stepTimes);
    rows.push({
      bench: 'trainIteration',
      what: 'D step with R1 + G step (adversarial, age, reconstruction, cycle, identity feature) + Adam + EMA',
      preset,
      backend: info.name,
      threads,
      shape: `[${batch},${res},${res},3]`,
      batch,
      medianMs: round(ms),
      imagesPerSecond: Math.round((batch / ms) * 1000 * 100) / 100,
      runs: stepReps,
    });
    trainer.dispose();
    tf.dispose([x1, m1, y1, images, masks]);
    model.dispose();
  }
  process.stdout.write(`${JSON.stringify(rows)}\n`);
}

async function main() {
  const self = fileURLToPath(import.meta.url);
  const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
  const specs: ChildSpec[] = [
    { backend: 'wasm', threads: 1, presets: ['tiny', 'small'] },
    { backend: 'wasm', threads: 2, presets: ['tiny', 'small'] },
    { backend: 'cpu', threads: 1, presets: ['tiny'] },
  ];
  const results: Record<string, unknown>[] = [];
  for (const spec of specs) {
    process.stderr.write(`bench: ${spec.backend} ${spec.threads} thread(s): ${spec.presets.join(', ')} …\n`);
    const t0 = performance.now();
    const { stdout } = await promisify(execFile)(process.execPath, [tsxCli, '--conditions=@ragan/source', self, '--child', JSON.stringify(spec)], {
      maxBuffer: 16 << 20,
      timeout: 30 * 60_000,
    });
    const rows = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>[];
    for (const r of rows) process.stderr.write(`  ${JSON.stringify(r)}\n`);
    process.stderr.write(`  (${round((performance.now() - t0) / 1000)} s)\n`);
    results.push(...rows);
  }
  const out = {
    package: '@ragan/core',
    version: VERSION,
    tfjs: tf.version.tfjs,
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    date: new Date().toISOString(),
    results,
  };
  const dir = join(dirname(self), '../../../bench/results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'core.json');
  writeFileSync(`${file}.tmp`, `${JSON.stringify(out, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  process.stderr.write(`bench: wrote ${file}\n`);
}

const i = process.argv.indexOf('--child');
if (i >= 0) await child(JSON.parse(process.argv[i + 1]!) as ChildSpec);
else await main();
