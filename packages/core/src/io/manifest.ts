import { ConfigError, ModelLoadError } from '../errors/index.js';
import { resolveModelConfig, type ModelConfig } from '../config/presets.js';
import { MODULE_NAME, unsafeWeightFileReason } from './paths.js';

/** Format of `manifest.json` in a model folder; see docs/checkpoint-format.md. */
export const MODEL_FORMAT = 'ragan-model';
/** The manifest version this code writes and the newest it reads. */
export const MODEL_FORMAT_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';

export type StorageDtype = 'float32' | 'float16';

export const BYTES_PER_ELEMENT: Readonly<Record<StorageDtype, number>> = { float32: 4, float16: 2 };

/** One tensor inside a weight file: `bytes` at `offset`, row-major, little-endian. */
export interface TensorEntry {
  /** Full weight path, e.g. `generator/enc/stem/kernel`. */
  name: string;
  shape: number[];
  /** Storage dtype; equals the file's dtype in formatVersion 1. */
  dtype: StorageDtype;
  offset: number;
  bytes: number;
}

export interface WeightFileEntry {
  /** File name relative to the folder, e.g. `generator.bin`. */
  path: string;
  /** Which entry of `modules` this file holds. */
  module: string;
  bytes: number;
  /** Lowercase hex SHA-256 of the whole file. */
  sha256: string;
  dtype: StorageDtype;
  tensors: TensorEntry[];
}

export interface ModelManifest {
  format: typeof MODEL_FORMAT;
  formatVersion: number;
  /** Version of @ragan/core that wrote the folder. */
  packageVersion: string;
  /** ISO 8601 time of writing. */
  createdAt: string;
  /** Fully resolved model config; the loader builds the modules from it. */
  config: ModelConfig;
  modules: string[];
  weightFiles: WeightFileEntry[];
  /** Free JSON (e.g. training step); never interpreted by the loader. */
  extra?: Record<string, unknown>;
}

/** Caps that bound what a (possibly hostile) model folder can make the loader read. */
export interface ModelFolderLimits {
  /** Largest manifest.json accepted, in bytes. Default 8 MiB. */
  maxManifestBytes: number;
  /** Largest sum of the weight files that will be read, in bytes. Default 2 GiB. */
  maxTotalBytes: number;
}

export const DEFAULT_MODEL_FOLDER_LIMITS: Readonly<ModelFolderLimits> = {
  maxManifestBytes: 8 * 1024 * 1024,
  maxTotalBytes: 2 * 1024 * 1024 * 1024,
};

const MAX_RANK = 8;
const MAX_TENSOR_NAME = 512;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isByteCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Validates a parsed manifest.json (JSON.parse output) and returns it typed. Every refusal is a
 * ModelLoadError at `location` naming the field, e.g. `weightFiles[0].tensors[3].shape`.
 * Unknown fields are ignored; a change that older readers would misread bumps formatVersion.
 */
export function parseModelManifest(json: unknown, location: string): ModelManifest {
  const fail = (field: string, problem: string, cause?: unknown): never => {
    throw new ModelLoadError(location, `${field}: ${problem}`, cause === undefined ? {} : { cause });
  };
  if (!isObject(json)) return fail('(root)', 'must be a JSON object');

  // Format and version first: a newer writer may have changed everything else.
  if (json.format !== MODEL_FORMAT) {
    fail('format', `expected "${MODEL_FORMAT}", got ${JSON.stringify(json.format)}; this is not a RAGAN.ts model folder`);
  }
  const version = json.formatVersion;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    fail('formatVersion', `must be a positive integer, got ${JSON.stringify(version)}`);
  }
  if ((version as number) > MODEL_FORMAT_VERSION) {
    fail(
      'formatVersion',
      `is ${version as number}, but this reader knows only ${MODEL_FORMAT_VERSION}: the folder was written by a newer RAGAN.ts; upgrade @ragan/core`,
    );
  }
  if (typeof json.packageVersion !== 'string' || json.packageVersion.length === 0) fail('packageVersion', 'must be a non-empty string');
  if (typeof json.createdAt !== 'string' || Number.isNaN(Date.parse(json.createdAt))) fail('createdAt', 'must be an ISO 8601 date string');

  let config: ModelConfig;
  if (!isObject(json.config)) return fail('config', 'must be an object');
  try {
    config = resolveModelConfig(json.config as Partial<ModelConfig>);
  } catch (e) {
    if (e instanceof ConfigError) return fail('config', `invalid config: ${e.message}`, e);
    throw e;
  }

  if (!Array.isArray(json.modules) || json.modules.length === 0) return fail('modules', 'must be a non-empty array of module names');
  const modules: string[] = [];
  json.modules.forEach((m: unknown, i: number) => {
    if (typeof m !== 'string' || !MODULE_NAME.test(m)) fail(`modules[${i}]`, `must match ${MODULE_NAME.source}, got ${JSON.stringify(m)}`);
    if (modules.includes(m as string)) fail(`modules[${i}]`, `duplicate module "${m as string}"`);
    modules.push(m as string);
  });

  if (!Array.isArray(json.weightFiles)) return fail('weightFiles', 'must be an array');
  const seenPaths = new Set<string>();
  const seenModules = new Set<string>();
  const seenTensors = new Set<string>();
  const weightFiles = json.weightFiles.map((raw: unknown, i: number): WeightFileEntry => {
    const at = `weightFiles[${i}]`;
    if (!isObject(raw)) return fail(at, 'must be an object');
    const reason = unsafeWeightFileReason(raw.path);
    if (reason !== undefined) fail(`${at}.path`, `${JSON.stringify(raw.path)} is refused: ${reason}`);
    const path = raw.path as string;
    if (seenPaths.has(path)) fail(`${at}.path`, `"${path}" is listed twice`);
    seenPaths.add(path);
    if (typeof raw.module !== 'string' || !modules.includes(raw.module)) {
      fail(`${at}.module`, `must be one of modules (${modules.join(', ')}), got ${JSON.stringify(raw.module)}`);
    }
    const module = raw.module as string;
    if (seenModules.has(module)) fail(`${at}.module`, `module "${module}" already has a weight file`);
    seenModules.add(module);
    if (!isByteCount(raw.bytes)) fail(`${at}.bytes`, 'must be a non-negative integer');
    const bytes = raw.bytes as number;
    if (typeof raw.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(raw.sha256)) fail(`${at}.sha256`, 'must be 64 lowercase hex digits');
    if (raw.dtype !== 'float32' && raw.dtype !== 'float16') fail(`${at}.dtype`, `must be "float32" or "float16", got ${JSON.stringify(raw.dtype)}`);
    const dtype = raw.dtype as StorageDtype;
    if (!Array.isArray(raw.tensors)) return fail(`${at}.tensors`, 'must be an array');

    const tensors = raw.tensors.map((t: unknown, j: number): TensorEntry => {
      const tat = `${at}.tensors[${j}]`;
      if (!isObject(t)) return fail(tat, 'must be an object');
      if (typeof t.name !== 'string' || t.name.length === 0 || t.name.length > MAX_TENSOR_NAME) {
        fail(`${tat}.name`, `must be a non-empty string of at most ${MAX_TENSOR_NAME} characters`);
      }
      const name = t.name as string;
      if (seenTensors.has(name)) fail(`${tat}.name`, `tensor "${name}" is listed twice`);
      seenTensors.add(name);
      if (!Array.isArray(t.shape) || t.shape.length > MAX_RANK || !t.shape.every((d) => isByteCount(d))) {
        fail(`${tat}.shape`, `tensor "${name}": must be an array of at most ${MAX_RANK} non-negative integers, got ${JSON.stringify(t.shape)}`);
      }
      const shape = t.shape as number[];
      if (t.dtype !== dtype) fail(`${tat}.dtype`, `tensor "${name}": must equal the file's dtype "${dtype}", got ${JSON.stringify(t.dtype)}`);
      if (!isByteCount(t.offset)) fail(`${tat}.offset`, `tensor "${name}": must be a non-negative integer`);
      if (!isByteCount(t.bytes)) fail(`${tat}.bytes`, `tensor "${name}": must be a non-negative integer`);
      const offset = t.offset as number;
      const tBytes = t.bytes as number;
      const size = shape.reduce((a, b) => a * b, 1);
      const expected = size * BYTES_PER_ELEMENT[dtype];
      if (tBytes !== expected) {
        fail(`${tat}.bytes`, `tensor "${name}": shape ${JSON.stringify(shape)} of ${dtype} needs ${expected} bytes, manifest says ${tBytes}`);
      }
      if (offset + tBytes > bytes) {
        fail(`${tat}`, `tensor "${name}" is out of range: bytes ${offset}..${offset + tBytes} end past the ${bytes}-byte file`);
      }
      return { name, shape: [...shape], dtype, offset, bytes: tBytes };
    });

    const byOffset = [...tensors].sort((a, b) => a.offset - b.offset);
    for (let k = 1; k < byOffset.length; k++) {
      const prev = byOffset[k - 1]!;
      const cur = byOffset[k]!;
      if (cur.offset < prev.offset + prev.bytes) {
        fail(
          `${at}.tensors`,
          `tensors "${prev.name}" (bytes ${prev.offset}..${prev.offset + prev.bytes}) and "${cur.name}" (bytes ${cur.offset}..${cur.offset + cur.bytes}) ` +
            `overlap`,
        );
      }
    }
    return { path, module, bytes, sha256: raw.sha256 as string, dtype, tensors };
  });
  for (const m of modules) if (!seenModules.has(m)) fail('weightFiles', `module "${m}" has no weight file`);

  let extra: Record<string, unknown> | undefined;
  if (json.extra !== undefined) {
    if (!isObject(json.extra)) fail('extra', 'must be an object when present');
    extra = json.extra as Record<string, unknown>;
  }

  const manifest: ModelManifest = {
    format: MODEL_FORMAT,
    formatVersion: version as number,
    packageVersion: json.packageVersion as string,
    createdAt: json.createdAt as string,
    config,
    modules,
    weightFiles,
  };
  if (extra !== undefined) manifest.extra = extra;
  return manifest;
}

/**
 * manifest.json text: 2-space JSON with each tensor entry on one line, so a paper-size manifest stays
 * readable. Only structural whitespace changes (JSON strings cannot hold a raw newline).
 */
export function formatModelManifest(manifest: ModelManifest): string {
  const json = JSON.stringify(manifest, null, 2);
  const oneLine = (block: string) =>
    block
      .replace(/\[\n\s*/g, '[')
      .replace(/\n\s*\]/g, ']')
      .replace(/\n\s*/g, ' ');
  return `${json.replace(/\{\n\s*"name": [^{}]*?\n\s*\}/g, oneLine)}\n`;
}

/** Parses manifest bytes: strict UTF-8, then JSON.parse (never eval), then parseModelManifest. */
export function decodeModelManifest(bytes: Uint8Array, location: string): ModelManifest {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw new ModelLoadError(location, 'is not valid UTF-8', { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ModelLoadError(location, `malformed JSON: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  return parseModelManifest(json, location);
}
