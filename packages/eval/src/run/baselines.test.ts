import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@ragan/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { fakeEmbedder } from '../../test/fixtures.js';
import { memoryDataset } from './dataset.js';
import { evaluate } from './evaluate.js';
import { randomBaseline } from './models.js';

// wasm: the untrained generator runs ~10× faster there than on cpu.
describe('random baseline', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', quiet: true });
  });

  it('random baseline: seeded untrained tiny generator, same outputs for the same seed', async () => {
    const images = tf.randomUniform([2, 16, 16, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
    const masks = tf.ones([2, 16, 16, 1]) as tf.Tensor4D;
    const dataset = await memoryDataset({ images, masks, groups: [2, 8], ages: [8, 60] });
    const m1 = randomBaseline({ seed: 7, resolution: 16 });
    const m2 = randomBaseline({ seed: 7, resolution: 16 });
    expect(m1.sha256).toBe('baseline:random:tiny:res=16:seed=7');
    const before = tf.memory().numTensors;
    const r1 = await evaluate({ model: m1, dataset, embedders: [fakeEmbedder] });
    const r2 = await evaluate({ model: m2, dataset, embedders: [fakeEmbedder] });
    expect(tf.memory().numTensors).toBe(before);
    expect(r1.metrics.identity).toEqual(r2.metrics.identity);
    expect(r1.metrics.identity!.meanDistance).toBeGreaterThan(0);
    expect(r1.metrics.age).toBeNull(); // no estimator given
    expect(r1.metrics.realism).toBeNull();
    m1.dispose();
    m2.dispose();
    tf.dispose([images, masks]);
  });
});
