import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ModelLoadError, CheckpointError, type RaganError } from '../errors/index.js';
import { resolveModelConfig, type ModelConfig } from '../config/presets.js';
import type { Module } from '../layers/module.js';
import { loadModelFolder, loadWeightsInto, readManifest, saveModelFolder } from './model-folder.js';
import { MANIFEST_FILE, type ModelManifest } from './manifest.js';
import { memoryStore, type MemoryStore } from './store.js';
import { sha256Hex } from './sha256.js';
import { TinyNet, weightValues } from './tiny-module.fixture.js';
import { VERSION } from '../version.js';

const config: ModelConfig = resolveModelConfig('tiny');

/** Builds the fake model set; `channels` changes every shape (for shape-mismatch tests). */
const create =
  (channels = 2) =>
  (_c: ModelConfig, names: readonly string[]): Record<string, Module> =>
    Object.fromEntries(names.map((n, i) => [n, new TinyNet(n, channels, 100 + i)]));

function disposeAll(mods: Record<string, Module>): void {
  for (const m of Object.values(mods)) m.dispose();
}

async function savedFolder(
  opts: { dtype?: 'float32' | 'float16' } = {},
): Promise<{ store: MemoryStore; saved: { generator: TinyNet; discriminator: TinyNet } }> {
  const store = memoryStore();
  const saved = { generator: new TinyNet('generator', 2, 1), discriminator: new TinyNet('discriminator', 2, 2) };
  await saveModelFolder(store, { config, modules: saved, packageVersion: '0.1.0', extra: { step: 42 }, ...opts });
  return { store, saved };
}

function manifestOf(store: MemoryStore): ModelManifest {
  return JSON.parse(new TextDecoder().decode(store.files.get(MANIFEST_FILE)!)) as ModelManifest;
}

function editManifest(store: MemoryStore, edit: (m: ModelManifest) => void): void {
  const m = manifestOf(store);
  edit(m);
  store.files.set(MANIFEST_FILE, new TextEncoder().encode(JSON.stringify(m)));
}

/** Loads and expects a ModelLoadError whose message matches every pattern; checks nothing leaked. */
async function expectRefused(
  store: MemoryStore,
  patterns: RegExp[],
  opts: { create?: ReturnType<typeof create>; modules?: string[]; limits?: object } = {},
): Promise<ModelLoadError> {
  const before = tf.memory().numTensors;
  let err: unknown;
  try {
    const r = await loadModelFolder(store, { create: opts.create ?? create(), modules: opts.modules, limits: opts.limits });
    disposeAll(r.modules);
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a refusal').toBeInstanceOf(ModelLoadError);
  const e = err as ModelLoadError;
  expect(e.code).toBe('MODEL_LOAD_ERROR');
  for (const p of patterns) expect(e.message).toMatch(p);
  expect(tf.memory().numTensors, 'tensors leaked by a refused load').toBe(before);
  return e;
}

describe('model folder save/load', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('round-trips float32 weights exactly, with manifest fields, extra and config', async () => {
    const { store, saved } = await savedFolder();
    expect([...store.files.keys()].sort()).toEqual(['discriminator.bin', 'generator.bin', 'manifest.json']);
    const loaded = await loadModelFolder(store, { create: create() });
    expect(loaded.config).toEqual(config);
    expect(loaded.manifest.extra).toEqual({ step: 42 });
    expect(loaded.manifest.modules).toEqual(['generator', 'discriminator']);
    expect(loaded.manifest.formatVersion).toBe(1);
    const gen = loaded.manifest.weightFiles[0]!;
    expect(gen.path).toBe('generator.bin');
    expect(gen.sha256).toBe(await sha256Hex(store.files.get('generator.bin')!));
    expect(gen.tensors.map((t) => t.name)).toEqual(saved.generator.weights().map((w) => w.name));
    const text = new TextDecoder().decode(store.files.get(MANIFEST_FILE)!);
    expect(text).toContain('{ "name": "generator/block/kernel", "shape": [3, 3, 2, 2], "dtype": "float32", "offset": 64, "bytes": 144 }');
    expect(JSON.parse(text)).toEqual(loaded.manifest);
    expect(gen.tensors.find((t) => t.name === 'generator/block/kernel')).toMatchObject({ shape: [3, 3, 2, 2], dtype: 'float32', bytes: 3 * 3 * 2 * 2 * 4 });
    for (const name of ['generator', 'discriminator'] as const) {
      expect(weightValues(loaded.modules[name]!)).toEqual(weightValues(saved[name]));
    }
    disposeAll(loaded.modules);
    disposeAll(saved);
  });

  it('float16 storage halves the files and round-trips within 1e-3 relative', async () => {
    const { store, saved } = await savedFolder({ dtype: 'float16' });
    const f32 = await savedFolder({ dtype: 'float32' });
    expect(store.files.get('generator.bin')!.byteLength * 2).toBe(f32.store.files.get('generator.bin')!.byteLength);
    const loaded = await loadModelFolder(store, { create: create() });
    expect(loaded.manifest.weightFiles[0]!.dtype).toBe('float16');
    for (const w of loaded.modules.generator!.weights()) {
      expect(w.variable.dtype).toBe('float32');
      const a = w.variable.dataSync();
      const b = saved.generator
        .weights()
        .find((x) => x.name === w.name)!
        .variable.dataSync();
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(1e-3 * Math.abs(b[i]!) + 1e-7);
    }
    disposeAll(loaded.modules);
    disposeAll(saved);
    disposeAll(f32.saved);
  });

  it('leaks no tensors across save, load and dispose', async () => {
    const before = tf.memory().numTensors;
    const { store, saved } = await savedFolder({ dtype: 'float16' });
    const loaded = await loadModelFolder(store, { create: create() });
    disposeAll(loaded.modules);
    disposeAll(saved);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('loads only the requested modules and disposes extra ones create() returned', async () => {
    const { store, saved } = await savedFolder();
    const before = tf.memory().numTensors;
    let seen: readonly string[] = [];
    const loaded = await loadModelFolder(store, {
      modules: ['generator'],
      create: (c, names) => {
        seen = names;
        return { ...create()(c, ['generator', 'discriminator']) };
      },
    });
    expect(seen).toEqual(['generator']);
    expect(Object.keys(loaded.modules)).toEqual(['generator']);
    expect(weightValues(loaded.modules.generator!)).toEqual(weightValues(saved.generator));
    disposeAll(loaded.modules);
    expect(tf.memory().numTensors).toBe(before);
    await expectRefused(store, [/module "classifier" was requested/, /generator, discriminator/], { modules: ['classifier'] });
    disposeAll(saved);
  });

  it('readManifest reads and validates only the manifest', async () => {
    const { store, saved } = await savedFolder();
    store.files.delete('generator.bin');
    const m = await readManifest(store);
    expect(m.config).toEqual(config);
    expect(m.packageVersion).toBe('0.1.0');
    const s2 = memoryStore();
    await saveModelFolder(s2, { config, modules: { generator: saved.generator } });
    expect((await readManifest(s2)).packageVersion).toBe(VERSION);
    disposeAll(saved);
  });

  it('refuses to save to a read-only store, bad module names, invalid configs, float16 overflow', async () => {
    const m = new TinyNet('generator');
    const ro = { describe: () => 'ro:', read: memoryStore().read };
    await expect(saveModelFolder(ro, { config, modules: { generator: m }, packageVersion: '0.1.0' })).rejects.toThrow(/read-only/);
    await expect(saveModelFolder(memoryStore(), { config, modules: { '../g': m }, packageVersion: '0.1.0' })).rejects.toThrow(CheckpointError);
    await expect(saveModelFolder(memoryStore(), { config: { ...config, c0: -1 }, modules: { generator: m }, packageVersion: '0.1.0' })).rejects.toThrow(
      /invalid config: c0/,
    );
    m.weights()[0]!.variable.assign(tf.fill([2, 5], 1e5));
    const store = memoryStore();
    await expect(saveModelFolder(store, { config, modules: { generator: m }, packageVersion: '0.1.0', dtype: 'float16' })).rejects.toThrow(
      /beyond float16's range/,
    );
    expect(store.files.size).toBe(0);
    m.dispose();
  });
});

describe('model folder refusals', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('malformed JSON, non-UTF-8, wrong format, newer formatVersion', async () => {
    const { store, saved } = await savedFolder();
    const good = store.files.get(MANIFEST_FILE)!;
    store.files.set(MANIFEST_FILE, new TextEncoder().encode('{"format": "ragan-model",'));
    const e = await expectRefused(store, [/manifest\.json/, /malformed JSON/]);
    expect(e.location).toBe('memory:/manifest.json');
    store.files.set(MANIFEST_FILE, new Uint8Array([0x7b, 0xff, 0x7d]));
    await expectRefused(store, [/not valid UTF-8/]);
    store.files.set(MANIFEST_FILE, good);
    editManifest(store, (m) => ((m as { format: string }).format = 'tfjs-layers-model'));
    await expectRefused(store, [/format: expected "ragan-model"/]);
    store.files.set(MANIFEST_FILE, good);
    editManifest(store, (m) => {
      m.formatVersion = 2;
      (m as { weightFiles: unknown }).weightFiles = 'changed in v2';
    });
    await expectRefused(store, [/formatVersion/, /written by a newer RAGAN\.ts; upgrade @ragan\/core/]);
    store.files.set(MANIFEST_FILE, good);
    editManifest(store, (m) => (m.formatVersion = 0));
    await expectRefused(store, [/formatVersion: must be a positive integer/]);
    disposeAll(saved);
  });

  it('weight file paths that could leave the folder', async () => {
    const { store, saved } = await savedFolder();
    const good = store.files.get(MANIFEST_FILE)!;
    const cases: [string, RegExp][] = [
      ['../x.bin', /leaves the model folder/],
      ['sub/../../x.bin', /leaves the model folder/],
      ['/etc/x.bin', /absolute path/],
      ['..\\x.bin', /backslash/],
      ['C:/x.bin', /URL or a drive path/],
      ['https://evil.example/x.bin', /URL or a drive path/],
      ['//evil.example/x.bin', /URL or a drive path/],
      ['sub/x.bin', /plain file name/],
      ['.hidden.bin', /segment/],
      ['x.json', /plain file name/],
      ['', /is empty/],
    ];
    for (const [path, why] of cases) {
      store.files.set(MANIFEST_FILE, good);
      editManifest(store, (m) => (m.weightFiles[0]!.path = path));
      const e = await expectRefused(store, [/weightFiles\[0\]\.path/, why]);
      expect(e.message).toContain(JSON.stringify(path));
    }
    disposeAll(saved);
  });

  it('size mismatch before hashing, files larger than declared, manifest and total size caps', async () => {
    const { store, saved } = await savedFolder();
    const bin = store.files.get('generator.bin')!;
    store.files.set('generator.bin', bin.subarray(0, bin.byteLength - 4));
    const e = await expectRefused(store, [/size mismatch/, new RegExp(`declares ${bin.byteLength} bytes, the file has ${bin.byteLength - 4}`)]);
    expect(e.location).toBe('memory:/generator.bin');
    const bigger = new Uint8Array(bin.byteLength + 1);
    bigger.set(bin);
    store.files.set('generator.bin', bigger);
    await expectRefused(store, [/generator\.bin/, /too large/, new RegExp(`at most ${bin.byteLength}`)]);
    store.files.set('generator.bin', bin);
    await expectRefused(store, [/manifest\.json/, /too large/], { limits: { maxManifestBytes: 100 } });
    await expectRefused(store, [/weight files total \d+ bytes, over the 10-byte limit/], { limits: { maxTotalBytes: 10 } });
    disposeAll(saved);
  });

  it('sha256 mismatch', async () => {
    const { store, saved } = await savedFolder();
    const bin = store.files.get('discriminator.bin')!;
    bin[5] = bin[5]! ^ 0x01;
    const e = await expectRefused(store, [/sha256 mismatch/, /corrupt/]);
    expect(e.location).toBe('memory:/discriminator.bin');
    disposeAll(saved);
  });

  it('NaN or Inf in the weights (a diverged run; checksums match): refused, naming the file and the tensor', async () => {
    for (const dtype of ['float32', 'float16'] as const) {
      const store = memoryStore();
      const saved = { generator: new TinyNet('generator', 2, 1), discriminator: new TinyNet('discriminator', 2, 2) };
      const bias = saved.discriminator.weights().find((w) => w.name === 'discriminator/bias')!.variable;
      bias.assign(tf.tensor1d([0.5, NaN, 1, NaN, -1]));
      const kernel = saved.generator.weights().find((w) => w.name === 'generator/block/kernel')!.variable;
      kernel.assign(tf.tidy(() => tf.div(kernel, tf.zerosLike(kernel)))); // ±Inf (and NaN for 0/0)
      await saveModelFolder(store, { config, modules: saved, packageVersion: '0.1.0', dtype });
      const e = await expectRefused(store, [/generator\.bin/, /tensor "generator\/block\/kernel"/, /non-finite/, /\d+ of 36 values/]);
      expect(e.location).toBe('memory:/generator.bin');
      // only the discriminator: its own file and tensor are named
      await expectRefused(store, [/^memory:\/discriminator\.bin: /, /tensor "discriminator\/bias"/, /2 of 5 values/, /NaN/], { modules: ['discriminator'] });
      disposeAll(saved);
    }
  });

  it("allowPositiveInf lets the named tensors hold +Inf (Adam's overflowed v), never NaN or -Inf, and no other tensor", async () => {
    const store = memoryStore();
    const saved = { generator: new TinyNet('generator', 2, 1), discriminator: new TinyNet('discriminator', 2, 2) };
    const bias = saved.discriminator.weights().find((w) => w.name === 'discriminator/bias')!.variable;
    bias.assign(tf.tensor1d([0.5, Infinity, 1, Infinity, -1]));
    await saveModelFolder(store, { config, modules: saved, packageVersion: '0.1.0' });
    await expectRefused(store, [/tensor "discriminator\/bias"/, /2 of 5 values/, /\+Inf/]);
    const allow = (name: string) => name === 'discriminator/bias';
    const r = await loadModelFolder(store, { create: create(), allowPositiveInf: allow });
    const loaded = r.modules.discriminator!.weights().find((w) => w.name === 'discriminator/bias')!.variable;
    expect(Array.from(loaded.dataSync())).toEqual([0.5, Infinity, 1, Infinity, -1]);
    disposeAll(r.modules);
    for (const badValue of [NaN, -Infinity]) {
      bias.assign(tf.tensor1d([0.5, badValue, 1, 2, -1]));
      await saveModelFolder(store, { config, modules: saved, packageVersion: '0.1.0' });
      let err: unknown;
      try {
        disposeAll((await loadModelFolder(store, { create: create(), allowPositiveInf: allow })).modules);
      } catch (e) {
        err = e;
      }
      expect(err, String(badValue)).toBeInstanceOf(ModelLoadError);
    }
    disposeAll(saved);
  });

  it('overlapping and out-of-range tensor entries, inconsistent byte counts', async () => {
    const { store, saved } = await savedFolder();
    const good = store.files.get(MANIFEST_FILE)!;
    editManifest(store, (m) => (m.weightFiles[0]!.tensors[1]!.offset = 4));
    await expectRefused(store, [/weightFiles\[0\]\.tensors/, /overlap/, /"generator\/dense"/, /"generator\/bias"/]);
    store.files.set(MANIFEST_FILE, good);
    editManifest(store, (m) => (m.weightFiles[0]!.tensors[0]!.offset = m.weightFiles[0]!.bytes - 4));
    await expectRefused(store, [/tensors\[0\]/, /out of range/, /past the \d+-byte file/]);
    store.files.set(MANIFEST_FILE, good);
    editManifest(store, (m) => (m.weightFiles[0]!.tensors[0]!.bytes = 8));
    await expectRefused(store, [/tensors\[0\]\.bytes/, /needs 40 bytes, manifest says 8/]);
    store.files.set(MANIFEST_FILE, good);
    editManifest(store, (m) => (m.weightFiles[0]!.tensors[0]!.shape = [2, -5]));
    await expectRefused(store, [/tensors\[0\]\.shape/]);
    disposeAll(saved);
  });

  it('tensor missing from the manifest, or in the manifest but not in the model', async () => {
    const { store, saved } = await savedFolder();
    const good = store.files.get(MANIFEST_FILE)!;
    editManifest(store, (m) => m.weightFiles[0]!.tensors.splice(1, 1));
    await expectRefused(store, [/tensor "generator\/bias"/, /missing from the saved weights/]);
    store.files.set(MANIFEST_FILE, good);
    editManifest(store, (m) => (m.weightFiles[0]!.tensors[1]!.name = 'generator/bias_old'));
    await expectRefused(store, [/tensor "generator\/bias_old" is in the saved weights but not in the model/]);
    disposeAll(saved);
  });

  it('shape mismatch with the built model names the tensor and both shapes', async () => {
    const { store, saved } = await savedFolder();
    const e = await expectRefused(store, [/tensor "generator\/dense": shape mismatch: saved \[2,5\], model \[3,5\]/], { create: create(3) });
    expect(e.location).toBe('memory:/generator.bin');
    disposeAll(saved);
  });

  it('invalid config wraps the ConfigError message', async () => {
    const { store, saved } = await savedFolder();
    const good = store.files.get(MANIFEST_FILE)!;
    editManifest(store, (m) => (m.config.resolution = 100));
    const e = await expectRefused(store, [/config: invalid config: resolution/]);
    expect((e.cause as RaganError).code).toBe('CONFIG_ERROR');
    store.files.set(MANIFEST_FILE, good);
    // A "__proto__" key from JSON.parse is an own field: refused as unknown, never merged into a prototype.
    const text = new TextDecoder().decode(good).replace('"config": {', '"config": { "__proto__": { "polluted": 1 },');
    store.files.set(MANIFEST_FILE, new TextEncoder().encode(text));
    await expectRefused(store, [/config: invalid config: __proto__: unknown model config field/]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    disposeAll(saved);
  });

  it('other schema problems name the field', async () => {
    const { store, saved } = await savedFolder();
    const good = store.files.get(MANIFEST_FILE)!;
    const cases: [(m: ModelManifest) => void, RegExp][] = [
      [(m) => (m.weightFiles[0]!.sha256 = 'abc'), /weightFiles\[0\]\.sha256: must be 64 lowercase hex/],
      [(m) => (m.weightFiles[0]!.dtype = 'int8' as 'float32'), /weightFiles\[0\]\.dtype/],
      [(m) => (m.weightFiles[1]!.path = 'generator.bin'), /"generator\.bin" is listed twice/],
      [(m) => m.weightFiles.pop(), /module "discriminator" has no weight file/],
      [(m) => (m.modules = ['gen erator']), /modules\[0\]/],
      [(m) => ((m as { extra: unknown }).extra = [1]), /extra: must be an object/],
      [(m) => (m.createdAt = 'yesterday'), /createdAt/],
    ];
    for (const [edit, why] of cases) {
      store.files.set(MANIFEST_FILE, good);
      editManifest(store, edit);
      await expectRefused(store, [why]);
    }
    disposeAll(saved);
  });

  it('wraps errors of a custom store and a missing manifest in ModelLoadError', async () => {
    const failing = { describe: () => 'custom://x', read: async () => Promise.reject(new Error('disk on fire')) };
    await expect(readManifest(failing)).rejects.toThrow(/custom:\/\/x\/manifest\.json: could not read: disk on fire/);
    await expect(readManifest(memoryStore())).rejects.toThrow(/memory:\/manifest\.json: file not found/);
  });
});

describe('loadWeightsInto', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('assigns by name, checks everything first, leaves the caller owning the tensors', () => {
    const src = new TinyNet('net', 2, 7);
    const dst = new TinyNet('net', 2, 8);
    const tensors = new Map(src.weights().map((w) => [w.name, w.variable.clone() as tf.Tensor]));
    const before = weightValues(dst);

    const partial = new Map(tensors);
    partial.delete('net/scalar');
    expect(() => loadWeightsInto(dst, partial)).toThrow(/tensor "net\/scalar" of the model "net" missing/);
    const wrong = new Map(tensors);
    const bad = tf.zeros([2, 6]);
    wrong.set('net/dense', bad);
    expect(() => loadWeightsInto(dst, wrong, { location: 'here' })).toThrow(/^here: tensor "net\/dense": shape mismatch: saved \[2,6\], model \[2,5\]/);
    expect(weightValues(dst)).toEqual(before);

    loadWeightsInto(dst, Object.fromEntries(tensors));
    for (const t of tensors.values()) t.dispose();
    bad.dispose();
    expect(weightValues(dst)).toEqual(weightValues(src));
    src.dispose();
    dst.dispose();
  });
});
