/**
 * `pnpm --filter @ragan/data bench`: `prepare` throughput (UTKFace JPEG → cache, images/s) at 64² and
 * 128², and sampler throughput (batches/s, batch 8, read-ahead 2, flips on) from those caches, on the
 * cpu tfjs backend (the sampler's tensor creation is the only tfjs work). Writes
 * `bench/results/data.json` at the repository root. The caches go to a temp folder and are removed.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { writeFileAtomic } from '../src/cache/atomic.js';
import { prepareCache } from '../src/cache/prepare.js';
import { createSampler } from '../src/sampler/sampler.js';
import { utkFaceDir } from '../src/testing/fixtures.js';
import { DATA_VERSION } from '../src/version.js';

const PREPARE_IMAGES = Number(process.env.BENCH_PREPARE_IMAGES ?? 600);
const SAMPLER_BATCHES = Number(process.env.BENCH_SAMPLER_BATCHES ?? 300);
const BATCH = 8;
const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;

async function main() {
  await tf.setBackend('cpu');
  await tf.ready();
  const backend = tf.getBackend();
  const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
  const tmp = mkdtempSync(join(tmpdir(), 'ragan-data-bench-'));
  const rows: Record<string, unknown>[] = [];
  try {
    for (const size of [64, 128]) {
      const out = join(tmp, `cache${size}`);
      const r = await prepareCache({ data: utkFaceDir(), format: 'utkface', size, out, limit: PREPARE_IMAGES, preview: false });
      rows.push({
        bench: 'prepare',
        source: 'UTKFace crop_part1 (200×200 JPEG)',
        size,
        images: r.kept + r.skipped,
        masks: 'prior',
        seconds: round(r.elapsedMs / 1000, 2),
        imagesPerSecond: round(r.imagesPerSecond),
      });
      console.error(`prepare ${size}²: ${round(r.imagesPerSecond)} images/s (${r.kept} images)`);

      const sampler = await createSampler(out, { batch: BATCH, split: 'train', seed: 1, flip: true, prefetch: 2 });
      for (let i = 0; i < 10; i++) (await sampler.next()).dispose();
      const before = tf.memory().numTensors;
      const t0 = performance.now();
      for (let i = 0; i < SAMPLER_BATCHES; i++) {
        const b = await sampler.next();
        b.dispose();
      }
      const secs = (performance.now() - t0) / 1000;
      await sampler.close();
      if (tf.memory().numTensors !== before) throw new Error('the sampler leaked tensors');
      rows.push({
        bench: 'sampler',
        backend,
        size,
        batch: BATCH,
        shape: `images [${BATCH},${size},${size},3] + masks [${BATCH},${size},${size},1] float32`,
        prefetch: 2,
        flip: true,
        batches: SAMPLER_BATCHES,
        batchesPerSecond: round(SAMPLER_BATCHES / secs),
        imagesPerSecond: round((SAMPLER_BATCHES * BATCH) / secs),
      });
      console.error(`sampler ${size}² batch ${BATCH}: ${round(SAMPLER_BATCHES / secs)} batches/s`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const result = {
    package: '@ragan/data',
    version: DATA_VERSION,
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: `${availableParallelism()} × ${cpus()[0]?.model ?? 'unknown'}`,
    sharp: sharp.versions.sharp,
    libvips: sharp.versions.vips,
    tfjs: tf.version.tfjs,
    results: rows,
  };
  const dir = join(root, 'bench/results');
  mkdirSync(dir, { recursive: true });
  await writeFileAtomic(join(dir, 'data.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
}

await main();
