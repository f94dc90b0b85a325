import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, ModelLoadError } from '../errors/index.js';
import { resolveModelConfig } from '../config/presets.js';
import type { Module } from '../layers/module.js';
import { loadModelFolder, saveModelFolder } from '../io/model-folder.js';
import { TinyNet, weightValues } from '../io/tiny-module.fixture.js';
import { fsStore } from './io-fs.js';

const config = resolveModelConfig('tiny');
const create = (_c: unknown, names: readonly string[]): Record<string, Module> => Object.fromEntries(names.map((n) => [n, new TinyNet(n)]));

describe('fsStore', () => {
  let tmp: string;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    tmp = mkdtempSync(join(tmpdir(), 'ragan-io-fs-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('saves and loads a model folder, creating the folder, leaving no temp files', async () => {
    const dir = join(tmp, 'a', 'model');
    const saved = { generator: new TinyNet('generator', 2, 3), classifier: new TinyNet('classifier', 2, 4) };
    const before = tf.memory().numTensors;
    await saveModelFolder(fsStore(dir), { config, modules: saved, packageVersion: '0.1.0', dtype: 'float16' });
    expect(readdirSync(dir).sort()).toEqual(['classifier.bin', 'generator.bin', 'manifest.json']);
    JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    const loaded = await loadModelFolder(fsStore(dir), { create });
    for (const [k, m] of Object.entries(saved)) {
      const a = weightValues(loaded.modules[k]!);
      const b = weightValues(m);
      for (const name of Object.keys(b)) b[name]!.forEach((v, i) => expect(Math.abs(a[name]![i]! - v)).toBeLessThanOrEqual(1e-3 * Math.abs(v) + 1e-7));
    }
    for (const m of Object.values(loaded.modules)) m.dispose();
    expect(tf.memory().numTensors).toBe(before);
    for (const m of Object.values(saved)) m.dispose();
  });

  it('overwrites atomically, and cleans up its temp file when the rename fails', async () => {
    const dir = join(tmp, 'atomic');
    const store = fsStore(dir);
    await store.write('x.bin', new Uint8Array([1, 2, 3]));
    await store.write('x.bin', new Uint8Array([4, 5]));
    expect([...(await store.read('x.bin'))]).toEqual([4, 5]);
    await store.write('sub/y.bin', new Uint8Array([9]));
    expect([...readFileSync(join(dir, 'sub', 'y.bin'))]).toEqual([9]);
    mkdirSync(join(dir, 'taken.bin')); // rename of a file over a folder fails
    await expect(store.write('taken.bin', new Uint8Array([1]))).rejects.toThrow(CheckpointError);
    expect(readdirSync(dir).sort()).toEqual(['sub', 'taken.bin', 'x.bin']);
    expect(readdirSync(join(dir, 'taken.bin'))).toEqual([]);
  });

  it('refuses paths that escape the folder, for reads and writes', async () => {
    const dir = join(tmp, 'jail');
    mkdirSync(dir);
    writeFileSync(join(tmp, 'secret.bin'), 'secret');
    const store = fsStore(dir);
    for (const p of ['../secret.bin', 'sub/../../secret.bin', join(tmp, 'secret.bin'), '..\\secret.bin', 'file:///etc/passwd', '', '.', 'a//b']) {
      await expect(store.read(p), `read ${p}`).rejects.toThrow(ModelLoadError);
      await expect(store.read(p)).rejects.toThrow(/path refused/);
      await expect(store.write(p, new Uint8Array([1])), `write ${p}`).rejects.toThrow(CheckpointError);
    }
    expect(readFileSync(join(tmp, 'secret.bin'), 'utf8')).toBe('secret');
  });

  it('refuses symlinks that point outside the folder, allows ones that stay inside', async () => {
    const outside = join(tmp, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret.bin'), 'secret');
    const dir = join(tmp, 'links');
    mkdirSync(dir);
    writeFileSync(join(dir, 'real.bin'), 'inside');
    symlinkSync(join(outside, 'secret.bin'), join(dir, 'evil.bin'));
    symlinkSync(outside, join(dir, 'evildir'));
    symlinkSync(join(dir, 'real.bin'), join(dir, 'alias.bin'));
    const store = fsStore(dir);
    await expect(store.read('evil.bin')).rejects.toThrow(/symlink .*outside the model folder/);
    await expect(store.read('evildir/secret.bin')).rejects.toThrow(/outside the model folder/);
    await expect(store.write('evildir/new.bin', new Uint8Array([1]))).rejects.toThrow(/outside the model folder/);
    await expect(store.write('evil.bin', new Uint8Array([1]))).rejects.toThrow(CheckpointError);
    expect(readdirSync(outside)).toEqual(['secret.bin']);
    expect(readFileSync(join(outside, 'secret.bin'), 'utf8')).toBe('secret');
    expect(new TextDecoder().decode(await store.read('alias.bin'))).toBe('inside');
  });

  it('a manifest naming a symlinked weight file that leads outside is refused at load', async () => {
    const dir = join(tmp, 'linked-model');
    const saved = { generator: new TinyNet('generator') };
    await saveModelFolder(fsStore(dir), { config, modules: saved, packageVersion: '0.1.0' });
    const outside = join(tmp, 'elsewhere');
    mkdirSync(outside);
    writeFileSync(join(outside, 'generator.bin'), readFileSync(join(dir, 'generator.bin')));
    rmSync(join(dir, 'generator.bin'));
    symlinkSync(join(outside, 'generator.bin'), join(dir, 'generator.bin'));
    const before = tf.memory().numTensors;
    await expect(loadModelFolder(fsStore(dir), { create })).rejects.toThrow(ModelLoadError);
    expect(tf.memory().numTensors).toBe(before);
    saved.generator.dispose();
  });

  it('reports missing files and folders, caps reads by fstat size', async () => {
    const dir = join(tmp, 'sizes');
    const store = fsStore(dir);
    await expect(store.read('manifest.json')).rejects.toThrow(/file not found/);
    await store.write('big.bin', new Uint8Array(100));
    await expect(store.read('big.bin', { maxBytes: 99 })).rejects.toThrow(/too large: 100 bytes, at most 99/);
    expect((await store.read('big.bin', { maxBytes: 100 })).byteLength).toBe(100);
    await expect(store.read('sub')).rejects.toThrow(ModelLoadError);
    await store.write('sub/a.bin', new Uint8Array(1));
    await expect(store.read('sub')).rejects.toThrow(/not a regular file/);
  });
});

describe('src/io stays browser-safe', () => {
  it('imports no Node built-ins outside tests', () => {
    const ioDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'io');
    const offenders = readdirSync(ioDir)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .filter((f) => /from ['"](node:|fs['"]|path['"]|crypto['"]|http['"])/.test(readFileSync(join(ioDir, f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
