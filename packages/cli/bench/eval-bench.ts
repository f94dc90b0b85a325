/**
 * `pnpm --filter @ragan/cli bench`: `ragan eval` throughput as a user runs it. Prepares a 64×64 cache of
 * the first 300 UTKFace crops from ../shared (prior masks, as the bundled model was trained; in a
 * temporary folder, deleted afterwards), then evaluates
 * the bundled model on 24 test faces (× 9 targets) with every metric, once with the generator in ONNX
 * Runtime and once on tfjs wasm. Records images (face × target pairs) per second over the whole
 * evaluation and the generator's own ms per image. Writes `bench/results/eval.json` at the repository root.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { sharedDataDir } from '@ragan/data';
import { writeSectionResults } from '../../../bench/results-file.js';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
const bin = join(pkgDir, 'src', 'bin.ts');
const FACES = 24;

const ragan = (args: string[]) =>
  execFileSync(process.execPath, [tsxCli, '--conditions=@ragan/source', bin, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 << 20,
    env: { ...process.env, RAGAN_BACKEND: 'wasm' },
  });

interface EvalResults {
  backend: string;
  timings: { totalMs: number; generateMs: number };
  metrics: { speed?: { msPerImage: number; images: number } };
  dataset: { evaluated: number; resolution: number };
}

async function main(): Promise<void> {
  const shared = sharedDataDir(pkgDir);
  if (!shared) throw new Error('../shared/data not found: the eval benchmark reads UTKFace crops from there');
  const utk = join(shared, 'data', 'utkface', 'crop_part1');
  const tmp = mkdtempSync(join(tmpdir(), 'ragan-eval-bench-'));
  const results: Record<string, unknown>[] = [];
  try {
    const cache = join(tmp, 'utk64');
    ragan(['prepare', '--data', utk, '--format', 'utkface', '--size', '64', '--limit', '300', '--masks', 'prior', '--no-preview', '--out', cache]);
    for (const runtime of ['onnx', 'tfjs']) {
      const out = join(tmp, `${runtime}.json`);
      const t0 = performance.now();
      ragan(['eval', '--model', 'bundled', '--data', cache, '--limit', String(FACES), '--runtime', runtime, '--backend', 'wasm', '--out', out]);
      const wallMs = performance.now() - t0;
      const r = JSON.parse(readFileSync(out, 'utf8')) as EvalResults;
      const pairs = r.metrics.speed?.images ?? 0;
      const row = {
        bench: 'eval',
        runtime,
        backend: r.backend,
        resolution: r.dataset.resolution,
        faces: r.dataset.evaluated,
        pairs,
        pairsPerSecond: Math.round((pairs / (r.timings.totalMs / 1000)) * 100) / 100,
        generatorMsPerImage: Math.round((r.metrics.speed?.msPerImage ?? NaN) * 100) / 100,
        evalTotalMs: Math.round(r.timings.totalMs),
        commandMs: Math.round(wallMs),
      };
      process.stderr.write(`  ${JSON.stringify(row)}\n`);
      results.push(row);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  writeSectionResults(
    'eval.json',
    { package: '@ragan/cli', what: `ragan eval --model bundled on ${FACES} UTKFace test faces (64×64), all metrics, wasm` },
    results,
  );
}

await main();
