import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { fsStore } from '@ragan/core/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTfjsFeatureExtractor } from './tfjs-model.js';

let dir: string;

function writeFolder(name: string, modelJson: unknown, weights: Uint8Array, sidecar?: unknown): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'model.json'), JSON.stringify(modelJson));
  writeFileSync(join(d, 'weights.bin'), weights);
  if (sidecar !== undefined) writeFileSync(join(d, 'feature-extractor.json'), JSON.stringify(sidecar));
  return d;
}

/** A layers model as tensorflowjs_converter writes it (model.json + one shard). */
async function layersFolder(name: string, units: number, sidecar?: unknown): Promise<{ dir: string; model: tf.LayersModel }> {
  const model = tf.sequential({
    layers: [tf.layers.globalAveragePooling2d({ inputShape: [16, 16, 3] }), tf.layers.dense({ units, kernelInitializer: 'glorotUniform' })],
  });
  let out = '';
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const data = a.weightData as ArrayBuffer;
      out = writeFolder(
        name,
        { format: 'layers-model', modelTopology: a.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] },
        new Uint8Array(data),
        sidecar,
      );
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return { dir: out, model };
}

describe('loadTfjsFeatureExtractor', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    dir = mkdtempSync(join(tmpdir(), 'ragan-extractor-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('layers model: resizes and rescales [-1, 1] images as the sidecar says; features match the model', async () => {
    const { dir: d, model } = await layersFolder('layers', 5, { name: 'tiny-net', inputSize: 16, inputRange: 'unit', batchSize: 2 });
    const ex = await loadTfjsFeatureExtractor(fsStore(d));
    expect(ex).toMatchObject({ name: 'tiny-net', standard: false, dims: 5 });
    expect(ex.weightsSha256).toMatch(/^[0-9a-f]{64}$/);
    const x = tf.randomUniform([3, 8, 8, 3], -1, 1, 'float32', 2) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const f = await ex.extract(x);
    expect(tf.memory().numTensors).toBe(before + 1);
    const ref = tf.tidy(() => model.predict(tf.div(tf.add(tf.image.resizeBilinear(x, [16, 16]), 1), 2)) as tf.Tensor);
    expect(f.shape).toEqual([3, 5]);
    const [a, b] = [await f.data(), await ref.data()];
    a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 5));
    tf.dispose([x, f, ref]);
    ex.dispose();
    model.dispose();
  });

  it('graph model: runs a converter-style graph (Placeholder → Mean → MatMul)', async () => {
    const w = new Float32Array([1, 0, 0, 1, 1, 1]); // [3, 2]
    const axes = new Int32Array([1, 2]);
    const weights = new Uint8Array(w.byteLength + axes.byteLength);
    weights.set(new Uint8Array(w.buffer));
    weights.set(new Uint8Array(axes.buffer), w.byteLength);
    const d = writeFolder(
      'graph',
      {
        format: 'graph-model',
        modelTopology: {
          node: [
            {
              name: 'x',
              op: 'Placeholder',
              attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [{ size: '-1' }, { size: '-1' }, { size: '-1' }, { size: '3' }] } } },
            },
            {
              name: 'w',
              op: 'Const',
              attr: { dtype: { type: 'DT_FLOAT' }, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: '3' }, { size: '2' }] } } } },
            },
            {
              name: 'axes',
              op: 'Const',
              attr: { dtype: { type: 'DT_INT32' }, value: { tensor: { dtype: 'DT_INT32', tensorShape: { dim: [{ size: '2' }] } } } },
            },
            { name: 'pool', op: 'Mean', input: ['x', 'axes'], attr: { keep_dims: { b: false }, T: { type: 'DT_FLOAT' } } },
            { name: 'features', op: 'MatMul', input: ['pool', 'w'], attr: { T: { type: 'DT_FLOAT' }, transpose_a: { b: false }, transpose_b: { b: false } } },
          ],
          versions: { producer: 1 },
        },
        weightsManifest: [
          {
            paths: ['weights.bin'],
            weights: [
              { name: 'w', shape: [3, 2], dtype: 'float32' },
              { name: 'axes', shape: [2], dtype: 'int32' },
            ],
          },
        ],
      },
      weights,
      { inputSize: 8, outputNode: 'features' },
    );
    const ex = await loadTfjsFeatureExtractor(fsStore(d), { name: 'mean-rgb-graph' });
    expect(ex.dims).toBe(2);
    const x = tf.fill([2, 8, 8, 3], 0) as tf.Tensor4D; // 0 in [-1, 1] is 127.5 in bytes (default range)
    const f = await ex.extract(x);
    expect(Array.from(await f.data())).toEqual([255, 255, 255, 255]); // [r + b, g + b] = 127.5 · 2
    tf.dispose([x, f]);
    // "standard" promises Inception's 2048-D pool_3 features: a 2-D network is refused.
    await expect(loadTfjsFeatureExtractor(fsStore(d), { standard: true })).rejects.toThrow(/gives 2-D features; the standard FID network .* gives 2048/);
  });

  it('refuses a folder without model.json, a non-tfjs JSON and a bad sidecar, naming the file', async () => {
    await expect(loadTfjsFeatureExtractor(fsStore(join(dir, 'missing')))).rejects.toThrow(/model\.json: file not found/);
    const d = writeFolder('notjs', { hello: 1 }, new Uint8Array(0));
    await expect(loadTfjsFeatureExtractor(fsStore(d))).rejects.toThrow(/model\.json: is not a TensorFlow\.js model/);
    const { dir: d2, model } = await layersFolder('badsidecar', 2, { inputSize: 'big' });
    await expect(loadTfjsFeatureExtractor(fsStore(d2))).rejects.toThrow(/feature-extractor\.json\.inputSize: /);
    model.dispose();
  });
});
