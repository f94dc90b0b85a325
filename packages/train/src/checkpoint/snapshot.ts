import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { CheckpointError, saveModelFolder } from '@ragan/core';
import { fsStore } from '@ragan/core/node';
import { readMetrics } from '../logging/metrics.js';
import { checkpointsDir, loadLatestCheckpoint } from './checkpoint.js';
import { TensorBag } from './tensor-bag.js';

/**
 * How a compact snapshot stores Adam's moments, recorded in its checkpoint's `extra.snapshot`: `v` as
 * its square root (float16 cannot hold the second moments themselves, ~1e-10 to 1e-4, but holds their
 * roots), and `m` left out when beta1 is 0 (the spec's (0, 0.99): the first moment is then the last gradient
 * alone and carries nothing across a step), which the loader recreates as zeros. Snapshots written
 * before this (`optimizerM: 'zeros'`) stored those zeros and still load.
 */
export interface SnapshotInfo {
  optimizerV: 'sqrt';
  /**
   * Per `v/` entry of each bag (`g_opt/v/…`): the power of two √v was multiplied by before rounding to
   * float16, so that its largest value sits near 2^14 and small values stay out of float16's subnormals.
   */
  vScale: Record<string, number>;
  optimizerM: 'omitted' | 'zeros' | 'kept';
  /** The run folder it was made from, and when. */
  from: string;
  createdAt: string;
}

export interface SnapshotResult {
  dir: string;
  step: number;
  bytes: number;
  files: string[];
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? await folderBytes(p) : (await stat(p)).size;
  }
  return total;
}

async function listFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p, base)));
    else out.push(p.slice(base.length + 1));
  }
  return out.sort();
}

/**
 * Writes a compact, resumable snapshot of a training run: itself a run folder (config.json,
 * checkpoints/step-N/, evals.jsonl, metrics.jsonl with every `metricsEvery`-th step; the newest sample
 * grid only with `samples: true`, because a grid shows faces of the training data, which a snapshot meant
 * for a repository must not carry) whose one checkpoint stores every network and moment as float16 (`v` as √v, `m` left out
 * where beta1 is 0). About 40 % of a float32 checkpoint of the same run. Resuming from it is not bit-exact
 * (float16 rounding), but continues the run: `ragan train --resume SNAPSHOT --out NEW`.
 *
 * `outDir` is replaced whole (written beside it under a temporary name, then renamed).
 */
export async function writeSnapshot(runDir: string, outDir: string, opts: { metricsEvery?: number; samples?: boolean } = {}): Promise<SnapshotResult> {
  const ck = await loadLatestCheckpoint(runDir);
  if (!ck) throw new CheckpointError(`${runDir} has no checkpoint to snapshot`, { path: runDir });
  const tmp = `${outDir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  let config: { optimizer?: { beta1?: number } };
  try {
    config = JSON.parse(await readFile(join(runDir, 'config.json'), 'utf8')) as typeof config;
  } catch (e) {
    throw new CheckpointError(`${join(runDir, 'config.json')} is missing or not JSON: ${(e as Error).message}`, { path: runDir, cause: e });
  }
  const zeroM = (config.optimizer?.beta1 ?? 0) === 0;
  const vScale: Record<string, number> = {};
  const compact = (bag: TensorBag): TensorBag => {
    const entries = [...bag.toMap()]
      .filter(([name]) => !(zeroM && name.startsWith('m/')))
      .map(([name, t]) => {
        if (name.startsWith('v/')) {
          const root = tf.sqrt(t);
          // over the finite values: Adam's v may hold +Inf (an overflowed square), which stays +Inf
          const maxT = tf.tidy(() => tf.max(tf.where(tf.isFinite(root), root, tf.zerosLike(root))));
          const max = maxT.dataSync()[0]!;
          maxT.dispose();
          const scale = max > 0 ? 2 ** Math.max(-100, Math.min(100, Math.floor(Math.log2(16384 / max)))) : 1;
          vScale[`${bag.name}/${name}`] = scale;
          const scaled = tf.mul(root, scale);
          root.dispose();
          return { name, tensor: scaled };
        }
        return { name, tensor: tf.clone(t) };
      });
    try {
      return TensorBag.of(bag.name, entries);
    } finally {
      tf.dispose(entries.map((e) => e.tensor));
    }
  };
  const gBag = compact(ck.gOpt);
  const dBag = compact(ck.dOpt);
  try {
    const info: SnapshotInfo = {
      optimizerV: 'sqrt',
      vScale,
      optimizerM: zeroM ? 'omitted' : 'kept',
      from: basename(runDir),
      createdAt: new Date().toISOString(),
    };
    await saveModelFolder(fsStore(join(checkpointsDir(tmp), `step-${ck.step}`)), {
      config: ck.model.config,
      modules: { ...ck.model.modules(), g_opt: gBag, d_opt: dBag },
      extra: { ...ck.state, snapshot: info } as unknown as Record<string, unknown>,
      dtype: 'float16',
    });
    // without `data`: a cache path of the machine that made the snapshot (resuming it names the cache with --data)
    const { data: _data, ...portable } = config as Record<string, unknown>;
    await writeFile(join(tmp, 'config.json'), `${JSON.stringify(portable, null, 2)}\n`);
    const enc = new TextEncoder();
    const evals = (await readMetrics(join(runDir, 'evals.jsonl'))).filter((r) => r.step <= ck.step);
    if (evals.length) await fsStore(tmp).write('evals.jsonl', enc.encode(`${evals.map((r) => JSON.stringify(r)).join('\n')}\n`));
    const every = opts.metricsEvery ?? 10;
    // a resume event names the classifier folder it swapped in by its path on this machine: keep its name only
    const metrics = (await readMetrics(join(runDir, 'metrics.jsonl')))
      .filter((r) => r.step <= ck.step && ('event' in r || r.step % every === 0))
      .map((r) => {
        const { classifier } = r as { classifier?: unknown };
        return typeof classifier === 'string' ? { ...r, classifier: basename(classifier) } : r;
      });
    if (metrics.length) await fsStore(tmp).write('metrics.jsonl', enc.encode(`${metrics.map((r) => JSON.stringify(r)).join('\n')}\n`));
    const grids = (opts.samples ? await readdir(join(runDir, 'samples')).catch(() => [] as string[]) : [])
      .map((f) => /^step-(\d+)\.png$/.exec(f))
      .filter((m): m is RegExpExecArray => m !== null && Number(m[1]) <= ck.step)
      .sort((a, b) => Number(b[1]) - Number(a[1]));
    if (grids[0]) {
      await mkdir(join(tmp, 'samples'), { recursive: true });
      await copyFile(join(runDir, 'samples', grids[0][0]), join(tmp, 'samples', grids[0][0]));
    }
    await rm(outDir, { recursive: true, force: true });
    await rename(tmp, outDir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  } finally {
    gBag.dispose();
    dBag.dispose();
    ck.model.dispose();
    ck.gOpt.dispose();
    ck.dOpt.dispose();
  }
  return { dir: outDir, step: ck.step, bytes: await folderBytes(outDir), files: await listFiles(outDir) };
}
