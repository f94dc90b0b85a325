import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';

import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALIGNMENT_PRESETS, UTKFACE_ALIGN, createRagan, exportGenerator, initBackend, loadGenerator, reage, type Generator } from '@ragan/core';
import { fsStore } from '@ragan/core/node';
import { memoryBatchSource, runTraining } from '@ragan/train';
import { prepareCache } from '@ragan/data';
import { loadModelSource, maxOutputDifference, runExport } from '../src/commands/export.js';
import { runCli } from './run-cli.js';
import { sampleFaceChips } from '@ragan/test-utils/sample-faces';

const ragan = (a: string[]) => runCli(a, { backend: 'cpu' });

const tmp = mkdtempSync(join(tmpdir(), 'ragan-export-'));
const run = join(tmp, 'run');

/** The outputs of two generators on one seeded input agree to `tol`. */
function sameOutputs(a: Generator, b: Generator, tol: number): void {
  tf.tidy(() => {
    const res = a.config.resolution;
    const x = tf.randomUniform([2, res, res, 3], -1, 1, 'float32', 3) as tf.Tensor4D;
    const m = tf.ones([2, res, res, 1]) as tf.Tensor4D;
    const d = tf.max(tf.abs(tf.sub(reage(a, x, m, { group: '70+' }), reage(b, x, m, { group: '70+' })))).dataSync()[0]!;
    expect(d).toBeLessThanOrEqual(tol);
  });
}

beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
  // A real run folder, fast: two steps of tiny at 16 px on four synthetic images, a checkpoint after each.
  const images = tf.randomUniform([4, 16, 16, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
  const masks = tf.ones([4, 16, 16, 1]) as tf.Tensor4D;
  const source = memoryBatchSource(images, masks, [1, 4, 7, 9], { batch: 2, seed: 2 });
  await runTraining({
    runDir: run,
    config: { preset: 'tiny', model: { resolution: 16 }, steps: 2, batch: 2, checkpointEvery: 1, keepCheckpoints: 2, sampleEvery: 100, seed: 4 },
    source,
  });
  source.close?.();
  tf.dispose([images, masks]);
}, 120_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('ragan export', () => {
  it("writes the inference folder from a run folder: the newest checkpoint's EMA generator, float32", async () => {
    const out = join(tmp, 'web32');
    const r = await ragan(['export', '--model', run, '--out', out, '--json']);
    expect(r.stderr).not.toMatch(/ragan: .*(error|cannot)/i);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as { dtype: string; source: { kind: string; step: number }; files: string[]; resolution: number };
    expect(summary).toMatchObject({ dtype: 'float32', source: { kind: 'run', step: 2 }, files: ['manifest.json', 'generator.bin'], resolution: 16 });
    expect(readdirSync(out).sort()).toEqual(['generator.bin', 'manifest.json']);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { modules: string[]; extra: { step: number; exportedFrom: unknown } };
    expect(manifest.modules).toEqual(['generator']);
    expect(manifest.extra).toMatchObject({ step: 2, exportedFrom: { kind: 'run', step: 2 } });
    // same weights as the checkpoint's EMA generator (not the raw generator)
    const exported = await loadGenerator(fsStore(out));
    const ema = await loadGenerator(fsStore(join(run, 'checkpoints', 'step-2')));
    expect(ema.generator.name).toBe('ema_generator');
    sameOutputs(exported.generator, ema.generator, 0);
    exported.generator.dispose();
    ema.generator.dispose();
  }, 120_000);

  it('--onnx writes the generator as ONNX that onnxruntime-node runs to the same outputs; a wrong extension is refused', async () => {
    const out = join(tmp, 'web-onnx');
    const file = join(tmp, 'onnx', 'tiny16.onnx');
    const r = await ragan(['export', '--model', run, '--out', out, '--onnx', file, '--json']);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as { onnx: { path: string; bytes: number; maxAbsDiff: number } };
    expect(summary.onnx.path).toBe(file);
    expect(summary.onnx.maxAbsDiff).toBeLessThan(1e-4);
    expect(readFileSync(file).byteLength).toBe(summary.onnx.bytes);
    // the file on its own, in ONNX Runtime, against the exported folder in tfjs
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(file);
    const { generator } = await loadGenerator(fsStore(out));
    const x = tf.randomUniform([1, 16, 16, 3], -1, 1, 'float32', 9) as tf.Tensor4D;
    const m = tf.ones([1, 16, 16, 1]) as tf.Tensor4D;
    const target = new Float32Array(10);
    target[9] = 1;
    const y = await session.run({
      image: new ort.Tensor('float32', x.dataSync() as Float32Array, [1, 16, 16, 3]),
      mask: new ort.Tensor('float32', m.dataSync() as Float32Array, [1, 16, 16, 1]),
      target: new ort.Tensor('float32', target, [1, 10]),
    });
    const ref = reage(generator, x, m, { group: '70+' });
    const onnxOut = y.output!.data as Float32Array;
    const refOut = ref.dataSync();
    expect(Math.max(...Array.from(refOut, (v, i) => Math.abs(v - onnxOut[i]!)))).toBeLessThan(1e-4);
    tf.dispose([x, m, ref]);
    generator.dispose();
    await session.release();
    const bad = await ragan(['export', '--model', run, '--out', join(tmp, 'web-onnx2'), '--onnx', join(tmp, 'model.bin')]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--onnx: ');
    expect(bad.stderr).toContain('give a file name ending in .onnx');
  }, 120_000);

  it('--alignment utkface records the UTKFace framing in the model config; the weights are unchanged', async () => {
    const out = join(tmp, 'utk');
    const r = await ragan(['export', '--model', run, '--out', out, '--alignment', 'utkface', '--json']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { alignment: unknown }).alignment).toEqual(UTKFACE_ALIGN);
    const exported = await loadGenerator(fsStore(out));
    expect(exported.generator.config.alignment).toEqual(UTKFACE_ALIGN);
    expect(exported.manifest.config.alignment).toEqual(UTKFACE_ALIGN);
    const plain = await loadGenerator(fsStore(join(tmp, 'web32')));
    expect(plain.generator.config.alignment).toBeUndefined(); // the run recorded none: the spec's FFHQ-Aging framing
    sameOutputs(exported.generator, plain.generator, 0);
    exported.generator.dispose();
    plain.generator.dispose();
    // re-exporting the UTKFace model keeps its framing without the flag
    const again = join(tmp, 'utk-again');
    expect((await ragan(['export', '--model', out, '--out', again])).code).toBe(0);
    const reloaded = await loadGenerator(fsStore(again));
    expect(reloaded.generator.config.alignment).toEqual(UTKFACE_ALIGN);
    reloaded.generator.dispose();
    const bad = await ragan(['export', '--model', run, '--out', join(tmp, 'x'), '--alignment', 'celeba']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--alignment.*celeba.*ffhq-aging, utkface|celeba.*invalid|Allowed choices are ffhq-aging, utkface/i);
  }, 120_000);

  it('infers the UTKFace framing for a run that records none but was trained on a UTKFace cache', async () => {
    // a run from before runs recorded their framing: config.json names a UTKFace cache, the checkpoints no alignment
    const cache = join(tmp, 'utk-cache');
    await prepareCache({ data: await sampleFaceChips(), format: 'utkface', size: 16, limit: 4, masks: 'prior', out: cache, preview: false });
    const old = join(tmp, 'old-run');
    cpSync(run, old, { recursive: true });
    const cfgFile = join(old, 'config.json');
    writeFileSync(cfgFile, JSON.stringify({ ...JSON.parse(readFileSync(cfgFile, 'utf8')), data: cache }));
    const out = join(tmp, 'from-old-run');
    const r = await ragan(['export', '--model', old, '--out', out, '--meta', 'trainedOn=UTKFace', '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/its cache is UTKFace: the model gets the UTKFace framing/);
    expect((await loadGenerator(fsStore(out))).manifest.config.alignment).toEqual(UTKFACE_ALIGN);
    // --alignment wins; the source's --meta carries over into a re-export
    const again = join(tmp, 'from-old-run-ffhq');
    expect((await ragan(['export', '--model', out, '--out', again, '--alignment', 'ffhq-aging', '--meta', 'licence=x'])).code).toBe(0);
    const m = JSON.parse(readFileSync(join(again, 'manifest.json'), 'utf8')) as { config: { alignment: unknown }; extra: { meta: unknown } };
    expect(m.config.alignment).toEqual(ALIGNMENT_PRESETS['ffhq-aging']);
    expect(m.extra.meta).toEqual({ trainedOn: 'UTKFace', licence: 'x' });
  }, 180_000);

  it('exports a model folder as float16 after checking outputs stay within 1e-3, and reports the figure', async () => {
    // An untrained 16-px model whose float16 round trip stays within 1e-3 (seed 2: 7.4e-4 on cpu; the
    // figure is ~0.7-1.5e-3 for small untrained or briefly trained models, so seeds matter here).
    const src = join(tmp, 'model-seed2');
    const model = createRagan({ preset: 'tiny', resolution: 16 }, { seed: 2 });
    await exportGenerator(fsStore(src), model.emaGenerator);
    model.dispose();
    const out = join(tmp, 'web16');
    const r = await ragan(['export', '--model', src, '--out', out, '--float16']);
    expect(r.code).toBe(0);
    const m = /float16 max abs difference (\S+) \(allowed 1e-3\)/.exec(r.stdout);
    expect(m, r.stdout + r.stderr).not.toBeNull();
    expect(Number(m![1])).toBeLessThanOrEqual(1e-3);
    expect(Number(m![1])).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/float16 check: max abs difference/);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as {
      weightFiles: Array<{ dtype: string; bytes: number }>;
      extra: { float16MaxAbsDiff: number };
    };
    expect(manifest.weightFiles[0]!.dtype).toBe('float16');
    expect(manifest.extra.float16MaxAbsDiff).toBeCloseTo(Number(m![1]), 4);
    // half the bytes of the float32 folder, and outputs within the reported figure
    const full = JSON.parse(readFileSync(join(src, 'manifest.json'), 'utf8')) as { weightFiles: Array<{ bytes: number }> };
    expect(manifest.weightFiles[0]!.bytes * 2).toBe(full.weightFiles[0]!.bytes);
    const a = await loadGenerator(fsStore(src));
    const b = await loadGenerator(fsStore(out));
    expect(maxOutputDifference(a.generator, b.generator).maxAbsDiff).toBeCloseTo(Number(m![1]), 4);
    a.generator.dispose();
    b.generator.dispose();
  }, 120_000);

  it('refuses float16 above the tolerance with the figure, writing nothing', async () => {
    // The 2-step run's generator moves by 2.2e-3 in float16 (its biases grew in training): refused at 1e-3.
    const out = join(tmp, 'refused');
    const r = await ragan(['export', '--model', run, '--out', out, '--float16']);
    expect(r.code).not.toBe(0);
    const m = /refused: float16 weights change the generator's outputs by up to (\d\.\d\de-\d+) \(max abs difference over 4 test inputs/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(1e-3);
    expect(r.stderr).toMatch(/export float32 instead \(drop --float16\)/);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
    expect(existsSync(out)).toBe(false);
  }, 120_000);
});

describe('loadModelSource / runExport checks (in process)', () => {
  it('skips a corrupt newest checkpoint and uses the newest valid one', async () => {
    const copy = join(tmp, 'run-corrupt');
    mkdirSync(copy);
    for (const step of ['step-1', 'step-2']) {
      const from = join(run, 'checkpoints', step);
      mkdirSync(join(copy, 'checkpoints', step), { recursive: true });
      for (const f of readdirSync(from)) writeFileSync(join(copy, 'checkpoints', step, f), readFileSync(join(from, f)));
    }
    const bad = join(copy, 'checkpoints', 'step-2', 'ema_generator.bin');
    const bytes = readFileSync(bad);
    bytes[100] = bytes[100]! ^ 0xff;
    writeFileSync(bad, bytes);
    const src = await loadModelSource(copy);
    expect(src.kind).toBe('run');
    expect(src.step).toBe(1);
    expect(src.skipped).toEqual([{ step: 2, reason: expect.stringMatching(/ema_generator\.bin: sha256 mismatch/) }]);
    src.generator.dispose();
  });

  it('says what is wrong with a folder that is not a model', async () => {
    await expect(loadModelSource(join(tmp, 'nope'))).rejects.toThrow(/nope: no such folder/);
    const plain = join(tmp, 'plain');
    mkdirSync(plain);
    writeFileSync(join(plain, 'notes.txt'), 'x');
    await expect(loadModelSource(plain)).rejects.toThrow(/neither a model folder \(no manifest\.json.*nor a training run folder/);
    const empty = join(tmp, 'empty-run');
    mkdirSync(empty);
    writeFileSync(join(empty, 'config.json'), '{}');
    await expect(loadModelSource(empty)).rejects.toThrow(/this training run has no checkpoint yet/);
  });

  it('refuses an --out that is the source or a folder that is not a model', async () => {
    await expect(runExport({ model: run, out: run })).rejects.toThrow(/--out: .* is the model folder being exported/);
    await expect(runExport({ model: join(run, 'checkpoints', 'step-2'), out: run })).rejects.toThrow(/holds it/);
    const plain = join(tmp, 'plain');
    await expect(runExport({ model: run, out: plain })).rejects.toThrow(/exists and is not a model folder/);
    await expect(runExport({ model: run, out: join(tmp, 'x'), float16: true, float16Tolerance: 'abc' })).rejects.toThrow(/--float16-tolerance/);
  });
});
