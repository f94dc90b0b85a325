import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShapeError } from './errors/index.js';
import { ageStrip, reage } from './inference.js';
import { createRagan, type RaganModel } from './ragan.js';
import { expectTensorsClose } from '../test/helpers.js';

describe('reage / ageStrip', () => {
  let model: RaganModel;
  let x: tf.Tensor4D;
  let m: tf.Tensor4D;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    model = createRagan({ preset: 'tiny', resolution: 16 }, { seed: 5 });
    // give every age group its own CBN scale/shift so targets matter (they are 1/0 at init)
    for (const cbn of model.emaGenerator.batchNormLayers()) {
      cbn.gamma.assign(tf.randomUniform(cbn.gamma.shape, 0.5, 1.5, 'float32', 1));
      cbn.beta.assign(tf.randomUniform(cbn.beta.shape, -0.5, 0.5, 'float32', 2));
    }
    x = tf.randomUniform([2, 16, 16, 3], -1, 1, 'float32', 3) as tf.Tensor4D;
    m = tf.ones([2, 16, 16, 1]) as tf.Tensor4D;
  });

  afterAll(() => {
    model.dispose();
    tf.dispose([x, m]);
  });

  it('accepts a group label, an index or a continuous age, and an age at a group centre equals that group', () => {
    const byLabel = reage(model.emaGenerator, x, m, { group: '70+' });
    const byIndex = reage(model.emaGenerator, x, m, { group: 9 });
    expectTensorsClose(byLabel, byIndex, 0);
    const centre = reage(model.emaGenerator, x, m, { age: 34.5 }); // centre of 30-39
    const g6 = reage(model.emaGenerator, x, m, { group: 6 });
    expectTensorsClose(centre, g6, 1e-6);
    const between = reage(model.emaGenerator, x, m, { age: 39.5 }); // half 30-39, half 40-49
    expect(tf.max(tf.abs(tf.sub(between, g6))).dataSync()[0]).toBeGreaterThan(1e-4);
    tf.dispose([byLabel, byIndex, centre, g6, between]);
  });

  it('ageStrip gives each face in every group, face-major, without leaking', () => {
    const before = tf.memory().numTensors;
    const strip = ageStrip(model.emaGenerator, x, m);
    expect(strip.shape).toEqual([20, 16, 16, 3]);
    const face1group3 = reage(model.emaGenerator, x, m, { group: 3 });
    tf.tidy(() => expectTensorsClose(strip.slice([13, 0, 0, 0], [1, 16, 16, 3]), face1group3.slice([1, 0, 0, 0], [1, 16, 16, 3]), 1e-6));
    tf.dispose([strip, face1group3]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses images of another size and unknown groups with clear errors', () => {
    const big = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
    expect(() => reage(model.emaGenerator, big, tf.ones([1, 32, 32, 1]) as tf.Tensor4D, { group: 0 })).toThrow(/built for 16×16/);
    expect(() => reage(model.emaGenerator, x, m, { group: '90-99' })).toThrow(/not a group/);
    expect(() => reage(model.emaGenerator, x, m, { group: 12 })).toThrow(ShapeError);
    big.dispose();
  });
});
