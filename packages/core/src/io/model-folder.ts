import * as tf from '@tensorflow/tfjs';
import { CheckpointError, ConfigError, ModelLoadError, RaganError } from '../errors/index.js';
import { resolveModelConfig, type ModelConfig } from '../config/presets.js';
import type { Module, NamedWeight } from '../layers/module.js';
import { float16ToFloat32, toFloat16Bits, FLOAT16_MAX } from './float16.js';
import {
  BYTES_PER_ELEMENT,
  DEFAULT_MODEL_FOLDER_LIMITS,
  MANIFEST_FILE,
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  decodeModelManifest,
  formatModelManifest,
  type ModelFolderLimits,
  type ModelManifest,
  type StorageDtype,
  type TensorEntry,
  type WeightFileEntry,
} from './manifest.js';
import { MODULE_NAME, joinLocation } from './paths.js';
import { sha256Hex } from './sha256.js';
import type { ModelStore } from './store.js';
import { VERSION } from '../version.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface SaveModelFolderOptions {
  /** The config the modules were built from; validated and stored fully resolved. */
  config: ModelConfig;
  /** Modules by manifest name, e.g. `{ generator, discriminator, classifier }`; one `<name>.bin` each. */
  modules: Record<string, Module>;
  /** Version recorded as the writer. Default: this @ragan/core's VERSION. */
  packageVersion?: string;
  /** Free JSON stored as `extra` (e.g. `{ step: 1000 }`). Must survive JSON.stringify. */
  extra?: Record<string, unknown>;
  /** Storage dtype. float16 halves the files; values are rounded to nearest and loaded back as float32. Default float32. */
  dtype?: StorageDtype;
}

/**
 * Writes a model folder: every weight file first, manifest.json last, so a crash mid-way never leaves
 * a manifest pointing at missing files (an overwritten folder with an old manifest fails its checksums).
 * Reads weights with `await data()` (no tensors created). Throws CheckpointError on bad input.
 * Returns the manifest written.
 */
export async function saveModelFolder(store: ModelStore, options: SaveModelFolderOptions): Promise<ModelManifest> {
  const { modules, extra } = options;
  const packageVersion = options.packageVersion ?? VERSION;
  const dtype = options.dtype ?? 'float32';
  const where = store.describe();
  if (!store.write) throw new CheckpointError(`store ${where} is read-only; save to an fsStore or memoryStore`);
  if (dtype !== 'float32' && dtype !== 'float16') throw new CheckpointError(`dtype must be "float32" or "float16", got ${JSON.stringify(dtype)}`);
  if (typeof packageVersion !== 'string' || packageVersion.length === 0) throw new CheckpointError('packageVersion must be a non-empty string');

  let config: ModelConfig;
  try {
    config = resolveModelConfig(options.config);
  } catch (e) {
    if (e instanceof ConfigError) throw new CheckpointError(`refusing to save an invalid config: ${e.message}`, { cause: e, path: where });
    throw e;
  }

  let extraJson: Record<string, unknown> | undefined;
  if (extra !== undefined) {
    try {
      extraJson = JSON.parse(JSON.stringify(extra)) as Record<string, unknown>;
    } catch (e) {
      throw new CheckpointError(`extra is not JSON-serialisable: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    if (typeof extraJson !== 'object' || extraJson === null || Array.isArray(extraJson)) throw new CheckpointError('extra must be a plain object');
  }

  const names = Object.keys(modules);
  if (names.length === 0) throw new CheckpointError('modules is empty; nothing to save');
  const allTensorNames = new Set<string>();
  const weightFiles: WeightFileEntry[] = [];
  for (const moduleName of names) {
    if (!MODULE_NAME.test(moduleName)) throw new CheckpointError(`module name "${moduleName}" must match ${MODULE_NAME.source}`);
    const weights = modules[moduleName]!.weights();
    const bpe = BYTES_PER_ELEMENT[dtype];
    const tensors: TensorEntry[] = [];
    let offset = 0;
    for (const w of weights) {
      if (allTensorNames.has(w.name)) throw new CheckpointError(`weight name "${w.name}" appears twice; weight names must be unique across modules`);
      allTensorNames.add(w.name);
      if (w.variable.dtype !== 'float32') throw new CheckpointError(`weight "${w.name}" has dtype ${w.variable.dtype}; only float32 weights are stored`);
      const bytes = w.variable.size * bpe;
      tensors.push({ name: w.name, shape: [...w.variable.shape], dtype, offset, bytes });
      offset += bytes;
    }
    const buffer = new Uint8Array(offset);
    const view = new DataView(buffer.buffer);
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i]!;
      const entry = tensors[i]!;
      const values = (await w.variable.data()) as Float32Array;
      if (dtype === 'float32') {
        if (LITTLE_ENDIAN) buffer.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), entry.offset);
        else for (let k = 0; k < values.length; k++) view.setFloat32(entry.offset + 4 * k, values[k]!, true);
      } else {
        for (let k = 0; k < values.length; k++) {
          const v = values[k]!;
          if (Number.isFinite(v) && Math.abs(v) > FLOAT16_MAX) {
            throw new CheckpointError(`weight "${w.name}" holds ${v}, beyond float16's range (±${FLOAT16_MAX}); save with dtype "float32"`);
          }
          view.setUint16(entry.offset + 2 * k, toFloat16Bits(v), true);
        }
      }
    }
    const path = `${moduleName}.bin`;
    const sha256 = await sha256Hex(buffer);
    await store.write(path, buffer);
    weightFiles.push({ path, module: moduleName, bytes: buffer.byteLength, sha256, dtype, tensors });
  }

  const manifest: ModelManifest = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    packageVersion,
    createdAt: new Date().toISOString(),
    config,
    modules: names,
    weightFiles,
  };
  if (extraJson !== undefined) manifest.extra = extraJson;
  await store.write(MANIFEST_FILE, new TextEncoder().encode(formatModelManifest(manifest)));
  return manifest;
}

function limitsOf(partial?: Partial<ModelFolderLimits>): ModelFolderLimits {
  return { ...DEFAULT_MODEL_FOLDER_LIMITS, ...partial };
}

/** Wraps anything a custom store throws into a ModelLoadError at `location`. */
async function readFrom(store: ModelStore, path: string, maxBytes: number): Promise<Uint8Array> {
  try {
    return await store.read(path, { maxBytes });
  } catch (e) {
    if (RaganError.isInstance(e)) throw e;
    const location = joinLocation(store.describe(), path);
    throw new ModelLoadError(location, `could not read: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/** Reads and validates manifest.json (size cap, UTF-8, JSON, schema, config). Reads no weight file. */
export async function readManifest(store: ModelStore, options: { limits?: Partial<ModelFolderLimits> } = {}): Promise<ModelManifest> {
  const limits = limitsOf(options.limits);
  const bytes = await readFrom(store, MANIFEST_FILE, limits.maxManifestBytes);
  return decodeModelManifest(bytes, joinLocation(store.describe(), MANIFEST_FILE));
}

/**
 * Checks that `entries` (names and shapes) match `module.weights()` exactly, before anything is assigned.
 * Returns the module's weights by name.
 */
function matchWeights(module: Module, entries: readonly { name: string; shape: readonly number[] }[], location: string): Map<string, NamedWeight> {
  const byName = new Map(module.weights().map((w) => [w.name, w]));
  const given = new Set<string>();
  for (const e of entries) {
    const w = byName.get(e.name);
    if (!w) {
      throw new ModelLoadError(location, `tensor "${e.name}" is in the saved weights but not in the model "${module.name}" built from the config`);
    }
    if (w.variable.shape.length !== e.shape.length || w.variable.shape.some((d, i) => d !== e.shape[i])) {
      throw new ModelLoadError(location, `tensor "${e.name}": shape mismatch: saved ${JSON.stringify(e.shape)}, model ${JSON.stringify(w.variable.shape)}`);
    }
    given.add(e.name);
  }
  const missing = [...byName.keys()].filter((n) => !given.has(n));
  if (missing.length > 0) {
    const list = missing
      .slice(0, 5)
      .map((n) => `"${n}"`)
      .join(', ');
    throw new ModelLoadError(
      location,
      `tensor ${list}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''} of the model "${module.name}" missing from the saved weights`,
    );
  }
  return byName;
}

/**
 * Assigns `tensors` (by full weight name) to the module's variables. Every name and shape is checked
 * before anything is assigned: a tensor the module lacks, a weight with no tensor, or a shape mismatch
 * throws ModelLoadError (at `options.location`, default "weights") and leaves the module unchanged.
 * The caller keeps ownership of `tensors` and may dispose them afterwards.
 */
export function loadWeightsInto(
  module: Module,
  tensors: ReadonlyMap<string, tf.Tensor> | Readonly<Record<string, tf.Tensor>>,
  options: { location?: string } = {},
): void {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const location = options.location ?? 'weights';
  const byName = matchWeights(
    module,
    entries.map(([name, t]) => ({ name, shape: t.shape })),
    location,
  );
  for (const [name, t] of entries) {
    if (t.dtype !== 'float32') throw new ModelLoadError(location, `tensor "${name}" has dtype ${t.dtype}; expected float32`);
  }
  for (const [name, t] of entries) byName.get(name)!.variable.assign(t);
}

/** Decodes one tensor of a verified weight file to float32. */
function decodeTensor(file: Uint8Array, entry: TensorEntry): Float32Array {
  const count = entry.bytes / BYTES_PER_ELEMENT[entry.dtype];
  const start = file.byteOffset + entry.offset;
  if (entry.dtype === 'float32') {
    if (LITTLE_ENDIAN) {
      // slice() copies into a fresh aligned buffer; offsets in a file need not be 4-aligned.
      return new Float32Array(file.buffer.slice(start, start + entry.bytes));
    }
    const view = new DataView(file.buffer, start, entry.bytes);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
    return out;
  }
  const half = new Uint16Array(count);
  const view = new DataView(file.buffer, start, entry.bytes);
  for (let i = 0; i < count; i++) half[i] = view.getUint16(2 * i, true);
  return float16ToFloat32(half);
}

/**
 * Throws ModelLoadError at `location` when `values` holds NaN or ±Inf, naming the tensor. With
 * `allowPositiveInf`, +Inf passes (NaN and -Inf still do not): Adam's second moment `v` becomes +Inf
 * when a gradient's square overflows float32, and Adam then keeps that weight still, a valid state.
 */
function checkFinite(values: Float32Array, name: string, location: string, allowPositiveInf = false): void {
  let bad = 0;
  let first = -1;
  const kinds = new Set<string>();
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v - v !== 0 && !(allowPositiveInf && v === Infinity)) {
      // NaN and ±Inf are the values for which v - v is not 0
      bad++;
      if (first < 0) first = i;
      kinds.add(Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf');
    }
  }
  if (bad > 0) {
    throw new ModelLoadError(
      location,
      `tensor "${name}" has ${bad} of ${values.length} values non-finite (${[...kinds].join(', ')}; the first at index ${first}): the weights are unusable ` +
        `(saved from a training run that diverged?); use an earlier checkpoint`,
    );
  }
}

export interface LoadModelFolderOptions {
  /**
   * Builds the modules for the stored config, e.g. `(c) => ({ generator: createGenerator(c) })`.
   * Receives the names to load; modules it returns beyond those are disposed.
   */
  create: (config: ModelConfig, modules: readonly string[]) => Record<string, Module>;
  /** Load only these modules (e.g. `['generator']` in the browser). Default: every module in the manifest. */
  modules?: string[];
  limits?: Partial<ModelFolderLimits>;
  /**
   * Tensors (by stored name) that may hold +Inf: a training checkpoint's Adam second moments
   * (`g_opt/v/…`), which overflow to +Inf when a gradient's square exceeds float32. Everything else, and
   * NaN or -Inf anywhere, is refused.
   */
  allowPositiveInf?: (tensorName: string) => boolean;
}

export interface LoadedModelFolder {
  config: ModelConfig;
  /** The loaded modules; the caller owns them (call `dispose()`). */
  modules: Record<string, Module>;
  manifest: ModelManifest;
}

/**
 * Loads a model folder: validates manifest.json, reads each needed weight file with its declared size
 * as the cap, checks size then SHA-256, builds the modules with `create(config)`, checks every tensor
 * name and shape against them and every value for NaN/Inf, and only then assigns the weights. Any
 * refusal is a ModelLoadError naming the file (and tensor) and the problem; modules built before a
 * refusal are disposed.
 */
export async function loadModelFolder(store: ModelStore, options: LoadModelFolderOptions): Promise<LoadedModelFolder> {
  const limits = limitsOf(options.limits);
  const manifest = await readManifest(store, { limits });
  const base = store.describe();
  const manifestAt = joinLocation(base, MANIFEST_FILE);

  const wanted = options.modules ?? manifest.modules;
  const files: WeightFileEntry[] = [];
  for (const name of wanted) {
    const file = manifest.weightFiles.find((f) => f.module === name);
    if (!file) throw new ModelLoadError(manifestAt, `module "${name}" was requested but the folder has only ${manifest.modules.join(', ')}`);
    if (!files.includes(file)) files.push(file);
  }
  const total = files.reduce((n, f) => n + f.bytes, 0);
  if (total > limits.maxTotalBytes) {
    throw new ModelLoadError(
      manifestAt,
      `weight files total ${total} bytes, over the ${limits.maxTotalBytes}-byte limit (raise limits.maxTotalBytes if you trust this folder)`,
    );
  }

  // Read and verify every file before building anything.
  const data = new Map<WeightFileEntry, Uint8Array>();
  for (const file of files) {
    const at = joinLocation(base, file.path);
    const bytes = await readFrom(store, file.path, file.bytes);
    if (bytes.byteLength !== file.bytes) {
      throw new ModelLoadError(
        at,
        `size mismatch: manifest.json declares ${file.bytes} bytes, the file has ${bytes.byteLength}; the file is truncated or was replaced`,
      );
    }
    const digest = await sha256Hex(bytes);
    if (digest !== file.sha256) {
      throw new ModelLoadError(
        at,
        `sha256 mismatch: manifest.json declares ${file.sha256}, the file hashes to ${digest}; the file is corrupt or was changed after saving`,
      );
    }
    data.set(file, bytes);
  }

  const built = options.create(
    manifest.config,
    files.map((f) => f.module),
  );
  const modules: Record<string, Module> = {};
  try {
    for (const file of files) {
      const m = built[file.module];
      if (!m) throw new ModelLoadError(manifestAt, `create() did not return module "${file.module}"`);
      modules[file.module] = m;
    }
    const plans = files.map((file) => ({ file, byName: matchWeights(modules[file.module]!, file.tensors, joinLocation(base, file.path)) }));
    // Decode and check every value before assigning anything: NaN or Inf (a diverged run) would load
    // "fine" and give black faces and null metrics.
    const decoded = plans.map(({ file }) =>
      file.tensors.map((entry) => {
        const values = decodeTensor(data.get(file)!, entry);
        checkFinite(values, entry.name, joinLocation(base, file.path), options.allowPositiveInf?.(entry.name) ?? false);
        return values;
      }),
    );
    plans.forEach(({ file, byName }, i) => {
      file.tensors.forEach((entry, k) => {
        const t = tf.tensor(decoded[i]![k]!, entry.shape, 'float32');
        byName.get(entry.name)!.variable.assign(t);
        t.dispose();
      });
    });
  } catch (e) {
    for (const m of Object.values(built)) m.dispose();
    throw e;
  }
  const kept = new Set(Object.values(modules));
  for (const m of Object.values(built)) if (!kept.has(m)) m.dispose();
  return { config: manifest.config, modules, manifest };
}
