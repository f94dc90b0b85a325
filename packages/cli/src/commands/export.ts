import { readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { extname, isAbsolute, join, relative, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import {
  CheckpointError,
  ConfigError,
  MANIFEST_FILE,
  ModelLoadError,
  RaganError,
  ALIGNMENT_PRESETS,
  createOnnxGenerator,
  generatorToOnnx,
  UTKFACE_ALIGN,
  exportGenerator,
  getAgeGroupSet,
  loadGenerator,
  memoryStore,
  reage,
  type AgeTargetSpec,
  type BackendName,
  type FfhqAlignParams,
  type Generator,
  type ModelManifest,
} from '@ragan/core';
import { loadOnnxRuntime } from '@ragan/backend/node';
import { fsStore } from '@ragan/core/node';
import { importFromCli } from '../import-module.js';
import { writeAtomic } from '../write-atomic.js';
import { readCacheIndex } from '@ragan/data';
import { checkpointsDir, listCheckpoints } from '@ragan/train';
import { backendOption, initCliBackend } from '../backend.js';

/** A generator loaded for inference, and where it came from. */
export interface ModelSource {
  generator: Generator;
  manifest: ModelManifest;
  /** `model`: a model folder (from `ragan export`, or a checkpoint folder itself); `run`: a training run. */
  kind: 'model' | 'run';
  /** The folder given. */
  dir: string;
  /** The folder the weights were read from (the checkpoint's, for a run). */
  weightsDir: string;
  /** Training step of the checkpoint (runs), or the step recorded in the manifest when there is one. */
  step?: number;
  /** Newer checkpoints of a run that failed validation, with the reason. */
  skipped: Array<{ step: number; reason: string }>;
  /**
   * How photos must be cropped for this model: what its config records, or for a run that records none
   * (runs from before runs recorded it), the framing of the cache it was trained on (UTKFace's).
   * Undefined = FFHQ-Aging's.
   */
  alignment?: Required<FfhqAlignParams>;
  /** Where `alignment` came from. */
  alignmentSource?: 'model' | 'run data';
}

/** The framing of a run's training cache when it is not FFHQ-Aging's (a UTKFace cache), from config.json's `data`. */
async function runDataFraming(runDir: string): Promise<Required<FfhqAlignParams> | undefined> {
  try {
    const cfg = JSON.parse(await readFile(join(runDir, 'config.json'), 'utf8')) as { data?: unknown };
    if (typeof cfg.data !== 'string') return undefined;
    const index = await readCacheIndex(resolve(runDir, cfg.data));
    return index.args.format === 'utkface' ? UTKFACE_ALIGN : undefined;
  } catch {
    return undefined; // the cache moved or is unreadable: nothing to infer
  }
}

const exists = async (p: string) => (await stat(p).catch(() => undefined)) !== undefined;

/**
 * Loads the inference generator from a model folder (its `generator`, or the `ema_generator` of a full
 * checkpoint) or from a training run folder: the newest checkpoint whose EMA generator validates
 * (sizes and sha256 of its file, names and shapes), newer broken ones skipped and reported. Only the
 * EMA generator is read — not D, C or the optimizer state — so this is cheap even for the paper model.
 */
export async function loadModelSource(dir: string): Promise<ModelSource> {
  const abs = resolve(dir);
  const st = await stat(abs).catch(() => undefined);
  if (!st) throw new ModelLoadError(abs, 'no such folder; give --model a model folder (from `ragan export`) or a training run folder (from `ragan train`)');
  if (!st.isDirectory()) throw new ModelLoadError(abs, 'is a file; give --model the folder holding manifest.json, or a training run folder');
  if (await exists(join(abs, MANIFEST_FILE))) {
    const { generator, manifest } = await loadGenerator(fsStore(abs));
    const step = typeof manifest.extra?.step === 'number' ? manifest.extra.step : undefined;
    const alignment = generator.config.alignment;
    return {
      generator,
      manifest,
      kind: 'model',
      dir: abs,
      weightsDir: abs,
      ...(step !== undefined ? { step } : {}),
      skipped: [],
      ...(alignment ? { alignment, alignmentSource: 'model' as const } : {}),
    };
  }
  const steps = await listCheckpoints(abs);
  if (steps.length === 0) {
    const isRun = (await exists(join(abs, 'config.json'))) || (await exists(checkpointsDir(abs)));
    throw new ModelLoadError(
      abs,
      isRun
        ? 'this training run has no checkpoint yet; train longer (a checkpoint is written every checkpointEvery steps, at the end, and on Ctrl-C)'
        : `neither a model folder (no ${MANIFEST_FILE}; \`ragan export\` writes one) nor a training run folder (no checkpoints/step-N/; \`ragan train\` ` +
            `writes them)`,
    );
  }
  const skipped: Array<{ step: number; reason: string }> = [];
  for (const step of steps) {
    const weightsDir = join(checkpointsDir(abs), `step-${step}`);
    try {
      const { generator, manifest } = await loadGenerator(fsStore(weightsDir));
      const recorded = generator.config.alignment;
      const inferred = recorded ? undefined : await runDataFraming(abs);
      const alignment = recorded ?? inferred;
      return {
        generator,
        manifest,
        kind: 'run',
        dir: abs,
        weightsDir,
        step,
        skipped,
        ...(alignment ? { alignment, alignmentSource: recorded ? 'model' : 'run data' } : {}),
      };
    } catch (e) {
      if (!RaganError.isInstance(e)) throw e;
      skipped.push({ step, reason: e.message });
    }
  }
  throw new CheckpointError(`no checkpoint's EMA generator validates: ${skipped.map((s) => `step ${s.step}: ${s.reason}`).join('; ')}`, {
    path: checkpointsDir(abs),
  });
}

/** One line about where the weights came from, for stderr. */
export function describeModelSource(src: ModelSource): string {
  const c = src.generator.config;
  const what = src.kind === 'run' ? `the EMA generator of ${src.dir}, checkpoint step ${src.step}` : `the generator of ${src.dir}`;
  return (
    `${what} (${c.resolution}×${c.resolution}, ${c.ageGroups}, ` +
    `${src.manifest.weightFiles.find((f) => f.module === 'generator' || f.module === 'ema_generator')?.dtype ?? 'float32'} weights)`
  );
}

/** Default allowed max abs difference between the float16 and float32 exports' outputs. */
export const FLOAT16_TOLERANCE = 1e-3;

/**
 * The largest absolute difference between two generators' outputs over a few seeded inputs: smooth
 * and noisy images, a face-like elliptical mask and a full one, the youngest and oldest groups and a
 * blended age. Outputs are in [-1, 1], where one 8-bit level is 2/255 ≈ 7.8e-3: a difference of 1e-3 is
 * about an eighth of a level, invisible once the image is written.
 */
export function maxOutputDifference(a: Generator, b: Generator): { maxAbsDiff: number; inputs: number } {
  const res = a.config.resolution;
  const k = getAgeGroupSet(a.config.ageGroups).groups.length;
  const targets: AgeTargetSpec[] = [{ group: 0 }, { group: k - 1 }, { age: 45 }, { group: Math.floor(k / 2) }];
  const n = targets.length;
  let worst = 0;
  tf.tidy(() => {
    const noise = tf.randomUniform([n, res, res, 3], -1, 1, 'float32', 11) as tf.Tensor4D;
    // Smooth images: noise at 1/8 resolution, upsampled, like the low frequencies of a face photo.
    const coarse = tf.randomUniform([n, Math.max(2, res / 8), Math.max(2, res / 8), 3], -1, 1, 'float32', 12) as tf.Tensor4D;
    const smooth = tf.image.resizeBilinear(coarse, [res, res], false, true);
    const x = tf.concat([smooth.slice([0, 0, 0, 0], [n / 2, -1, -1, -1]), noise.slice([n / 2, 0, 0, 0], [n / 2, -1, -1, -1])]) as tf.Tensor4D;
    const yy = tf.linspace(-1, 1, res).reshape([res, 1]);
    const xx = tf.linspace(-1, 1, res).reshape([1, res]);
    const ellipse = tf.cast(tf.lessEqual(tf.add(tf.square(tf.div(xx, 0.7)), tf.square(tf.div(yy, 0.85))), 1), 'float32');
    const masks = tf.concat([tf.tile(ellipse.reshape([1, res, res, 1]), [n - 1, 1, 1, 1]), tf.ones([1, res, res, 1])]) as tf.Tensor4D;
    for (let i = 0; i < n; i++) {
      const xi = x.slice([i, 0, 0, 0], [1, -1, -1, -1]);
      const mi = masks.slice([i, 0, 0, 0], [1, -1, -1, -1]);
      const d = tf.max(tf.abs(tf.sub(reage(a, xi, mi, targets[i]!), reage(b, xi, mi, targets[i]!)))).dataSync()[0]!;
      worst = Math.max(worst, Number.isNaN(d) ? Infinity : d);
    }
  });
  return { maxAbsDiff: worst, inputs: n };
}

export interface ExportResult {
  out: string;
  dtype: 'float32' | 'float16';
  bytes: number;
  files: string[];
  source: { dir: string; kind: 'model' | 'run'; step?: number; skipped: Array<{ step: number; reason: string }> };
  resolution: number;
  /** The framing recorded in the model config (absent: FFHQ-Aging, the spec's). */
  alignment?: Required<FfhqAlignParams>;
  float16?: { maxAbsDiff: number; tolerance: number; inputs: number };
  /** With --onnx: the file written, its size, and its difference from tfjs (absent: not checked). */
  onnx?: { path: string; bytes: number; maxAbsDiff?: number };
}

export interface ExportFlags {
  model: string;
  out: string;
  float16?: boolean;
  float16Tolerance?: string;
  /** Record this framing in the model (`ffhq-aging` | `utkface`); default: what the source records. */
  alignment?: keyof typeof ALIGNMENT_PRESETS;
  /** `key=value` pairs stored in the manifest's `extra.meta` (e.g. trainedOn, licence), shown by the web demo. */
  meta?: string[];
  backend?: BackendName | 'auto';
  /** Also write the generator as an ONNX file (float32, opset 17) for ONNX Runtime and other runtimes. */
  onnx?: string;
  json?: boolean;
}

/** Refuses an --out that would clobber something that is not an earlier export, or the source itself. */
async function checkOut(out: string, source: string): Promise<void> {
  const rel = relative(out, source);
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
    throw new ConfigError('--out', `${out} is the model folder being exported or holds it; choose another folder`);
  }
  const st = await stat(out).catch(() => undefined);
  if (!st) return;
  if (!st.isDirectory()) throw new ConfigError('--out', `${out} is a file; give a folder to write the model into`);
  const names = await readdir(out);
  if (names.length > 0 && !names.includes(MANIFEST_FILE)) {
    throw new ConfigError('--out', `${out} exists and is not a model folder (no ${MANIFEST_FILE}); choose an empty or new folder`);
  }
}

export async function runExport(flags: ExportFlags, log: (line: string) => void = () => {}): Promise<ExportResult> {
  const tolerance = flags.float16Tolerance === undefined ? FLOAT16_TOLERANCE : Number(flags.float16Tolerance);
  if (!(tolerance >= 0 && Number.isFinite(tolerance))) throw new ConfigError('--float16-tolerance', `must be a number ≥ 0, got "${flags.float16Tolerance}"`);
  const out = resolve(flags.out);
  await checkOut(out, resolve(flags.model));
  if (flags.alignment !== undefined && !Object.hasOwn(ALIGNMENT_PRESETS, flags.alignment)) {
    throw new ConfigError('--alignment', `unknown framing "${flags.alignment}"; use ${Object.keys(ALIGNMENT_PRESETS).join(' or ')}`);
  }
  const meta = parseMeta(flags.meta ?? []);
  await initCliBackend(flags.backend);
  const src = await loadModelSource(flags.model);
  const dtype = flags.float16 ? 'float16' : 'float32';
  const alignment = flags.alignment ? ALIGNMENT_PRESETS[flags.alignment] : src.alignment;
  if (!flags.alignment && src.alignmentSource === 'run data')
    log('the run records no framing, but its cache is UTKFace: the model gets the UTKFace framing (--alignment ffhq-aging to override)');
  // descriptive fields of the source (e.g. the bundled model's licence) carry over; --meta adds or replaces
  const sourceMeta = src.manifest.extra?.meta;
  const allMeta = { ...(typeof sourceMeta === 'object' && sourceMeta !== null ? (sourceMeta as Record<string, string>) : {}), ...meta };
  try {
    for (const s of src.skipped) log(`skipped checkpoint step ${s.step}: ${s.reason}`);
    log(`exporting ${describeModelSource(src)} as ${dtype}`);
    let float16: ExportResult['float16'];
    if (flags.float16) {
      // Round-trip through float16 in memory and compare outputs before anything is written.
      const { generator: half } = await loadGenerator(await exportToMemory(src.generator));
      try {
        const { maxAbsDiff, inputs } = maxOutputDifference(src.generator, half);
        float16 = { maxAbsDiff, tolerance, inputs };
        log(`float16 check: max abs difference ${maxAbsDiff.toExponential(2)} over ${inputs} test inputs (allowed ${tolerance.toExponential(0)})`);
        if (!(maxAbsDiff <= tolerance)) {
          throw new CheckpointError(
            `float16 weights change the generator's outputs by up to ${maxAbsDiff.toExponential(2)} (max abs difference over ${inputs} test inputs, ` +
              `outputs in [-1, 1]; allowed ${tolerance.toExponential(0)}); nothing written — export float32 instead (drop --float16)`,
            { path: out },
          );
        }
      } finally {
        half.dispose();
      }
    }
    // Written under a temporary name and renamed, so a crash never leaves a half-written model folder.
    const tmp = `${out}.tmp-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    const extra: Record<string, unknown> = { exportedFrom: { kind: src.kind, ...(src.step !== undefined ? { step: src.step } : {}) } };
    if (src.step !== undefined) extra.step = src.step;
    if (float16) extra.float16MaxAbsDiff = float16.maxAbsDiff;
    if (Object.keys(allMeta).length > 0) extra.meta = allMeta;
    let manifest: ModelManifest;
    try {
      manifest = await exportGenerator(fsStore(tmp), src.generator, { dtype, extra, ...(alignment ? { alignment } : {}) });
      await rm(out, { recursive: true, force: true });
      await rename(tmp, out);
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw RaganError.isInstance(e) ? e : new CheckpointError(`could not write the model folder: ${(e as Error).message}`, { path: out, cause: e });
    }
    // Load it back as ragan age and the browser will: checksums, names and shapes.
    (await loadGenerator(fsStore(out))).generator.dispose();
    let onnx: ExportResult['onnx'];
    if (flags.onnx) onnx = await writeOnnx(resolve(flags.onnx), src.generator, manifest, log);
    const files = [MANIFEST_FILE, ...manifest.weightFiles.map((f) => f.path)];
    let bytes = 0;
    for (const f of files) bytes += (await stat(join(out, f))).size;
    return {
      out,
      dtype,
      bytes,
      files,
      source: { dir: src.dir, kind: src.kind, ...(src.step !== undefined ? { step: src.step } : {}), skipped: src.skipped },
      resolution: src.generator.config.resolution,
      ...(manifest.config.alignment ? { alignment: manifest.config.alignment } : {}),
      ...(float16 ? { float16 } : {}),
      ...(onnx ? { onnx } : {}),
    };
  } finally {
    src.generator.dispose();
  }
}

/**
 * `--onnx FILE`: the generator as ONNX (float32), written atomically. Checked against tfjs in ONNX
 * Runtime when onnxruntime-node is installed (refused if they differ by more than 1e-4), else written
 * unchecked with a note.
 */
async function writeOnnx(path: string, generator: Generator, manifest: ModelManifest, log: (line: string) => void): Promise<NonNullable<ExportResult['onnx']>> {
  if (extname(path).toLowerCase() !== '.onnx') throw new ConfigError('--onnx', `${path}: give a file name ending in .onnx`);
  const bytes = generatorToOnnx(generator, {
    metadata: {
      raganPackageVersion: manifest.packageVersion,
      ...Object.fromEntries(Object.entries((manifest.extra?.meta as Record<string, string> | undefined) ?? {}).map(([k, v]) => [`meta.${k}`, String(v)])),
    },
  });
  let maxAbsDiff: number | undefined;
  const found = await loadOnnxRuntime(importFromCli);
  if (found.ok) {
    const o = await createOnnxGenerator(found.ort, generator).catch((e: unknown) => {
      throw new ConfigError('--onnx', `the ONNX model does not reproduce tfjs (${(e as Error).message}); nothing written`, { cause: e });
    });
    maxAbsDiff = o.maxAbsDiff;
    await o.dispose();
    log(`ONNX check (onnxruntime-node ${found.version}): max abs difference ${maxAbsDiff.toExponential(2)} from tfjs`);
  } else {
    log(`ONNX file not checked: ${found.reason}`);
  }
  await writeAtomic(path, bytes, '--onnx');
  return { path, bytes: bytes.byteLength, ...(maxAbsDiff !== undefined ? { maxAbsDiff } : {}) };
}

async function exportToMemory(generator: Generator) {
  const store = memoryStore();
  await exportGenerator(store, generator, { dtype: 'float16' });
  return store;
}

/** `key=value` strings → a plain object; keys are identifiers, values at most 500 characters. */
export function parseMeta(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    const key = eq > 0 ? p.slice(0, eq) : '';
    if (!/^[A-Za-z][A-Za-z0-9_]{0,40}$/.test(key)) throw new ConfigError('--meta', `expected key=value with a key of letters, digits and _, got "${p}"`);
    const value = p.slice(eq + 1);
    if (value.length > 500) throw new ConfigError('--meta', `the value of ${key} is longer than 500 characters`);
    out[key] = value;
  }
  return out;
}

const mb = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(0)} kB`);

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write the inference model folder (generator only) that `ragan age` and the browser demo load')
    .requiredOption('--model <dir>', "a training run folder (uses its newest valid checkpoint's EMA generator) or a model folder")
    .requiredOption('--out <dir>', 'model folder to write: manifest.json + generator.bin (replaced if it is an earlier export)')
    .option('--float16', 'store weights as float16 (half the download); refused if outputs move by more than the tolerance')
    .option('--float16-tolerance <x>', `max abs output difference allowed for --float16 (outputs in [-1, 1])`, String(FLOAT16_TOLERANCE))
    .addOption(
      new Option(
        '--alignment <framing>',
        'how photos must be cropped for this model: the framing of its training faces (default: what the run or model records, else ffhq-aging)',
      ).choices(Object.keys(ALIGNMENT_PRESETS)),
    )
    .option(
      '--meta <key=value...>',
      'descriptive fields stored in the manifest (extra.meta), e.g. trainedOn=UTKFace licence="non-commercial research only"; the web demo shows trainedOn ' +
        'and licence',
    )
    .addOption(backendOption())
    .option(
      '--onnx <file>',
      'also write the generator as ONNX (float32, opset 17; inputs image/mask/target NHWC) for ONNX Runtime; checked against tfjs within 1e-4 when ' +
        'onnxruntime-node is installed',
    )
    .option('--json', 'print a JSON summary to stdout')
    .addHelpText(
      'after',
      `
Examples:
  ragan export --model runs/tiny --out models/tiny
  ragan export --model runs/utk --out models/utk --alignment utkface   # a run from before runs recorded it
  ragan export --model runs/paper --out web/model --float16
  ragan age photo.jpg --model models/tiny --to 70+ --out aged.png

--float16 rounds every weight to half precision, then runs the float32 and float16 generators on a few
seeded inputs and compares the outputs (max abs difference). Above the tolerance nothing is written.

--onnx model.onnx: the same generator for ONNX Runtime (Python, C++, onnxruntime-web...): inputs image
[N,R,R,3] in [-1,1], mask [N,R,R,1] in [0,1], target [N,K] age-group weights (one-hot, or two groups
blended for an age); output [N,R,R,3]. \`ragan age\` does this export in memory by itself (--runtime).

--alignment: runs trained on a UTKFace cache record the UTKFace framing (a much tighter crop than
FFHQ-Aging's); \`ragan age\` and the web demo crop photos the way the model records.`,
    )
    .action(async (flags: ExportFlags) => {
      const t = performance.now();
      const r = await runExport(flags, (line) => process.stderr.write(`${line}\n`));
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ ...r, ms: Math.round(performance.now() - t) }, null, 2)}\n`);
        return;
      }
      const from = r.source.kind === 'run' ? `${r.source.dir} (checkpoint step ${r.source.step})` : r.source.dir;
      const check = r.float16 ? `; float16 max abs difference ${r.float16.maxAbsDiff.toExponential(2)} (allowed ${r.float16.tolerance.toExponential(0)})` : '';
      process.stdout.write(`wrote ${r.out} (${r.dtype}, ${r.resolution}×${r.resolution}, ${mb(r.bytes)}: ${r.files.join(' + ')}) from ${from}${check}\n`);
      if (r.onnx) {
        const checked =
          r.onnx.maxAbsDiff !== undefined
            ? `max abs difference from tfjs ${r.onnx.maxAbsDiff.toExponential(2)}`
            : 'not checked: onnxruntime-node is not installed';
        process.stdout.write(`wrote ${r.onnx.path} (ONNX, float32, ${mb(r.onnx.bytes)}; ${checked})\n`);
      }
    });
}
