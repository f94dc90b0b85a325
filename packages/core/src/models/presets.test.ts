import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TRAINING_BACKEND, useStockBackend } from '../../test/helpers.js';
import { LATS_GROUPS } from '../config/age-groups.js';
import { PRESETS, type PresetName } from '../config/presets.js';
import { createAgeClassifier } from './age-classifier.js';
import { createDiscriminator } from './discriminator.js';
import { createGenerator } from './generator.js';
import { ageTarget, groupTarget } from './targets.js';

function checkPreset(preset: PresetName, n: number, gResolution: number): void {
  const config = PRESETS[preset];
  const r = config.resolution;
  const before = tf.memory().numTensors;
  const g = createGenerator(config);
  const d = createDiscriminator(config);
  const c = createAgeClassifier(config);
  const out = tf.tidy(() => {
    // G is fully convolutional: the paper preset's shape test runs it at 64px to stay fast.
    const x = tf.randomUniform([n, gResolution, gResolution, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
    const m = tf.ones([n, gResolution, gResolution, 1]) as tf.Tensor4D;
    const y = g.apply(
      x,
      m,
      groupTarget(
        Array.from({ length: n }, (_, i) => i),
        10,
      ),
    );
    const xr = tf.randomUniform([n, r, r, 3], -1, 1, 'float32', 2) as tf.Tensor4D;
    return { y, dl: d.apply(xr), cl: c.apply(xr) };
  });
  expect(out.y.shape).toEqual([n, gResolution, gResolution, 3]);
  expect(Array.from(out.y.dataSync()).every((v) => v >= -1 && v <= 1)).toBe(true);
  expect(out.dl.shape).toEqual([n, 10]);
  expect(out.cl.shape).toEqual([n, 10]);
  expect(Array.from(out.dl.dataSync()).every(Number.isFinite)).toBe(true);
  tf.dispose([out.y, out.dl, out.cl]);
  for (const m of [g, d, c]) m.dispose();
  expect(tf.memory().numTensors).toBe(before);
}

describe('preset shapes', () => {
  it('tiny [cpu], batch 1', async () => {
    await tf.setBackend('cpu');
    checkPreset('tiny', 1, 64);
  });

  it(`tiny [${TRAINING_BACKEND}], batch 2`, async () => {
    await useStockBackend(TRAINING_BACKEND);
    checkPreset('tiny', 2, 64);
  });

  it(`small [${TRAINING_BACKEND}], batch 1`, async () => {
    await useStockBackend(TRAINING_BACKEND);
    checkPreset('small', 1, 128);
  });

  it(`paper [${TRAINING_BACKEND}], batch 1 (G at 64px, D and C at 256px)`, async () => {
    await useStockBackend(TRAINING_BACKEND);
    checkPreset('paper', 1, 64);
  });
});

describe('targets', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('groupTarget is one-hot; ageTarget blends the two neighbouring groups', () => {
    const a = groupTarget([1, 0], 3);
    expect(a.arraySync()).toEqual([
      [0, 1, 0],
      [1, 0, 0],
    ]);
    const b = ageTarget([4.5, 40, 0], 'ffhq-aging-10');
    const rows = b.arraySync();
    expect(b.shape).toEqual([3, 10]);
    expect(rows[0]![1]).toBeCloseTo(1); // centre of 3-6
    rows.forEach((row) => expect(row.reduce((s, v) => s + v, 0)).toBeCloseTo(1));
    expect(rows[1]!.filter((v) => v > 0).length).toBe(2);
    expect(ageTarget([60], LATS_GROUPS).shape).toEqual([1, 6]);
    tf.dispose([a, b]);
  });
});
