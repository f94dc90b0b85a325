import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CheckpointError,
  createRagan,
  isRngState,
  loadModelFolder,
  ModelLoadError,
  RaganError,
  readManifest,
  saveModelFolder,
  type GanTrainer,
  type ModelConfig,
  type ModelManifest,
  type RaganModel,
  type RngState,
  type SpikeGuardState,
} from '@ragan/core';
import { fsStore } from '@ragan/core/node';
import * as tf from '@tensorflow/tfjs';
import { TensorBag } from './tensor-bag.js';

/** Everything besides weights that an exact resume needs; stored as the manifest's `extra`. */
export interface TrainingState {
  step: number;
  /** GanTrainer's target-draw RNG. */
  /** The GAN trainer's draws (targets, shifts): its Rng state, one uint32 (mulberry32). */
  trainerRng: RngState;
  gOptIterations: number;
  dOptIterations: number;
  /** Current learning rate (halved after repeated NaN steps). */
  lr: number;
  /** The data source's cursor (epoch, position, RNG state), JSON. */
  dataCursor: unknown;
  /** sha256 of the resolved train config, to refuse resuming with another config. */
  configHash: string;
  /** 2: the hash leaves out the loss weights and ageShift (they may change on resume); absent: the strict hash. */
  configHashVersion?: number;
  /** The gradient-spike guard's running statistics (absent in checkpoints written before it existed). */
  spikeGuard?: SpikeGuardState;
}

const STEP_DIR = /^step-(\d{1,12})$/;
/** A checkpoint being replaced by a newer write of the same step: `.old-step-N-PID`. */
const OLD_PREFIX = '.old-step-';
const OLD_DIR = /^\.old-step-(\d{1,12})-(\d+)$/;

/** Whether process `pid` (not this one) is running: its `.old-` folder may be mid-swap. */
function otherProcessAlive(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Puts back a checkpoint whose replacement was killed between its two renames (only `.old-step-N-PID`
 * is left), and removes `.old-` folders whose `step-N` exists. Folders of a process that is still
 * running are left alone (it may be between its renames right now).
 */
async function recoverReplaced(runDir: string): Promise<void> {
  const dir = checkpointsDir(runDir);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  const present = new Set(names);
  for (const n of names) {
    const m = OLD_DIR.exec(n);
    if (!m || otherProcessAlive(Number(m[2]))) continue;
    const target = `step-${Number(m[1])}`;
    try {
      if (present.has(target)) {
        await rm(join(dir, n), { recursive: true, force: true });
      } else {
        await rename(join(dir, n), join(dir, target));
        present.add(target);
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue; // someone else got there first
      if (code === 'ENOTEMPTY' || code === 'EEXIST') {
        await rm(join(dir, n), { recursive: true, force: true }); // step-N appeared meanwhile
        continue;
      }
      throw new CheckpointError(`could not restore checkpoint ${n}: ${(e as Error).message}`, { path: join(dir, n), cause: e });
    }
  }
}

export function checkpointsDir(runDir: string): string {
  return join(runDir, 'checkpoints');
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

const optimizerEntries = (model: RaganModel, which: 'generator' | 'discriminator', withM = true) =>
  model[which]
    .weights()
    .filter((w) => w.trainable)
    .flatMap((w) => [...(withM ? [{ name: `m/${w.name}`, shape: w.variable.shape }] : []), { name: `v/${w.name}`, shape: w.variable.shape }]);

/** A bag with `v/` (and any other) entries of `bag` plus an all-zero `m/` entry beside each `v/` one; `bag` is disposed. */
function withZeroM(bag: TensorBag): TensorBag {
  const map = bag.toMap();
  const zeros = [...map].filter(([n]) => n.startsWith('v/')).map(([n, t]) => ({ name: `m/${n.slice(2)}`, tensor: tf.zeros(t.shape) }));
  try {
    return TensorBag.of(bag.name, [...zeros, ...[...map].map(([name, tensor]) => ({ name, tensor }))]);
  } finally {
    tf.dispose(zeros.map((z) => z.tensor));
    bag.dispose();
  }
}

/**
 * Writes `checkpoints/step-N/` atomically: the folder is filled under a temporary name (every file
 * fsync'd, manifest last, with sha256 of each weight file) and renamed into place, so a kill at any
 * moment leaves either the previous checkpoints or a complete new one — never a partial one that
 * passes for complete.
 *
 * A run can write the same step again (a resume from step N writes step N; an interrupt right after a
 * periodic checkpoint). The existing folder is then renamed aside (`.old-step-N-PID`) before the new
 * one takes its name, and deleted after: deleting it in place could be killed halfway and leave a
 * `step-N` without its manifest (seen in the kill -9 test). A kill between the two renames leaves only
 * the `.old-` folder, which `loadLatestCheckpoint` renames back.
 */
export async function saveCheckpoint(runDir: string, model: RaganModel, trainer: GanTrainer, state: TrainingState): Promise<string> {
  const dir = checkpointsDir(runDir);
  await mkdir(dir, { recursive: true });
  const final = join(dir, `step-${state.step}`);
  const tmp = join(dir, `.tmp-step-${state.step}-${process.pid}`);
  const old = join(dir, `${OLD_PREFIX}${state.step}-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  let replaced = false;
  const gBag = TensorBag.of('g_opt', trainer.gOpt.getState().tensors);
  const dBag = TensorBag.of('d_opt', trainer.dOpt.getState().tensors);
  try {
    await saveModelFolder(fsStore(tmp), {
      config: model.config,
      modules: { ...model.modules(), g_opt: gBag, d_opt: dBag },
      extra: { ...state } as unknown as Record<string, unknown>,
    });
    await fsyncDir(tmp);
    await rm(old, { recursive: true, force: true });
    try {
      await rename(final, old);
      replaced = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    await rename(tmp, final);
    await fsyncDir(dir);
    if (replaced) await rm(old, { recursive: true, force: true });
  } catch (e) {
    // the new folder did not take the name: put the old one back
    if (replaced) await rename(old, final).catch(() => undefined);
    await rm(tmp, { recursive: true, force: true });
    throw RaganError.isInstance(e) ? e : new CheckpointError(`could not write checkpoint: ${(e as Error).message}`, { path: final, cause: e });
  } finally {
    gBag.dispose();
    dBag.dispose();
  }
  return final;
}

/** Steps of complete-looking checkpoints (named step-N), newest first. Temporary folders are ignored. */
export async function listCheckpoints(runDir: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(checkpointsDir(runDir));
  } catch {
    return [];
  }
  return names
    .map((n) => STEP_DIR.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => b - a);
}

export interface LoadedCheckpoint {
  step: number;
  dir: string;
  model: RaganModel;
  state: TrainingState;
  gOpt: TensorBag;
  dOpt: TensorBag;
  manifest: ModelManifest;
  /** Checkpoints that were newer but failed validation (each with the reason). */
  skipped: Array<{ step: number; reason: string }>;
}

function parseState(extra: unknown, where: string): TrainingState {
  const s = extra as Partial<TrainingState> | undefined;
  const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  if (!s || !num(s.step) || !isRngState(s.trainerRng) || !num(s.gOptIterations) || !num(s.dOptIterations) || !num(s.lr) || typeof s.configHash !== 'string') {
    throw new ModelLoadError(where, 'manifest.json has no valid training state in "extra" (step, trainerRng, optimizer iterations, lr, configHash)');
  }
  return s as TrainingState;
}

/**
 * Loads the newest checkpoint that validates (sizes, sha256, shapes, config); newer ones that fail are
 * skipped and reported. Returns undefined when there is none. The caller owns the returned model and bags.
 */
export async function loadLatestCheckpoint(runDir: string): Promise<LoadedCheckpoint | undefined> {
  await recoverReplaced(runDir);
  const skipped: Array<{ step: number; reason: string }> = [];
  for (const step of await listCheckpoints(runDir)) {
    const dir = join(checkpointsDir(runDir), `step-${step}`);
    let built: { model: RaganModel; gOpt: TensorBag; dOpt: TensorBag } | undefined;
    let loaded = false;
    try {
      // a compact snapshot may leave Adam's first moments out (all zeros with beta1 = 0): its manifest says so
      const head = await readManifest(fsStore(dir));
      const snapInfo = (head.extra as { snapshot?: { optimizerM?: string } } | undefined)?.snapshot;
      const withM = snapInfo?.optimizerM !== 'omitted';
      const { manifest } = await loadModelFolder(fsStore(dir), {
        modules: ['generator', 'discriminator', 'classifier', 'ema_generator', 'g_opt', 'd_opt'],
        // Adam's v overflows to +Inf where a gradient's square exceeds float32 (that weight then stays still)
        allowPositiveInf: (name) => /^[gd]_opt\/v\//.test(name),
        create: (config: ModelConfig) => {
          const model = createRagan({ ...config });
          const gOpt = new TensorBag('g_opt', optimizerEntries(model, 'generator', withM));
          const dOpt = new TensorBag('d_opt', optimizerEntries(model, 'discriminator', withM));
          built = { model, gOpt, dOpt };
          return { ...model.modules(), g_opt: gOpt, d_opt: dOpt };
        },
      });
      loaded = true;
      const state = parseState(manifest.extra, dir);
      if (state.step !== step) throw new ModelLoadError(dir, `folder says step ${step} but its manifest says ${state.step}`);
      // a compact snapshot (snapshot.ts) stores √v: back to Adam's v
      const snap = (manifest.extra as { snapshot?: { optimizerV?: string; vScale?: Record<string, number> } } | undefined)?.snapshot;
      if (snap?.optimizerV === 'sqrt') {
        expandSnapshotMoments(built!.gOpt, snap.vScale ?? {}, dir);
        expandSnapshotMoments(built!.dOpt, snap.vScale ?? {}, dir);
      }
      if (!withM) {
        built!.gOpt = withZeroM(built!.gOpt);
        built!.dOpt = withZeroM(built!.dOpt);
      }
      return { step, dir, ...built!, state, manifest, skipped };
    } catch (e) {
      // loadModelFolder disposes what it built when it refuses; after a successful load we must
      if (loaded && built) {
        built.model.dispose();
        built.gOpt.dispose();
        built.dOpt.dispose();
      }
      if (!RaganError.isInstance(e)) throw e;
      skipped.push({ step, reason: e.message });
    }
  }
  return skipped.length
    ? Promise.reject(
        new CheckpointError(`no checkpoint in ${checkpointsDir(runDir)} validates: ${skipped.map((s) => `step ${s.step}: ${s.reason}`).join('; ')}`, {
          path: runDir,
        }),
      )
    : undefined;
}

/**
 * Keeps the newest `keep` checkpoints and removes older ones and stale temporary folders. With `every`,
 * only checkpoints on that step schedule count towards `keep`, and the newest checkpoint is kept whatever
 * its step: time-based checkpoints (`checkpointMinutes`) then cannot push the scheduled history out (the
 * second 128² run kept only checkpoints from after its blow-up, so it could not be rolled back).
 */
export async function pruneCheckpoints(runDir: string, keep: number, opts: { every?: number } = {}): Promise<void> {
  const steps = await listCheckpoints(runDir); // newest first
  const { every } = opts;
  const kept = new Set((every ? steps.filter((s) => s % every === 0) : steps).slice(0, keep));
  if (steps.length) kept.add(steps[0]!);
  for (const step of steps) if (!kept.has(step)) await rm(join(checkpointsDir(runDir), `step-${step}`), { recursive: true, force: true });
  let names: string[] = [];
  try {
    names = await readdir(checkpointsDir(runDir));
  } catch {
    return;
  }
  for (const n of names)
    if (n.startsWith('.tmp-step-') && !n.endsWith(`-${process.pid}`)) await rm(join(checkpointsDir(runDir), n), { recursive: true, force: true });
}

/** Turns a compact snapshot's stored √v·scale back into Adam's v, in place (snapshot.ts). */
function expandSnapshotMoments(bag: TensorBag, vScale: Record<string, number>, where: string): void {
  for (const [name, t] of bag.toMap()) {
    if (!name.startsWith('v/')) continue;
    const scale = vScale[`${bag.name}/${name}`] ?? 1;
    if (!(typeof scale === 'number' && scale > 0 && Number.isFinite(scale)))
      throw new ModelLoadError(where, `snapshot scale of ${bag.name}/${name} must be a positive number, got ${JSON.stringify(scale)}`);
    const sq = tf.tidy(() => tf.square(tf.div(t, scale)));
    (t as tf.Variable).assign(sq);
    sq.dispose();
  }
}
