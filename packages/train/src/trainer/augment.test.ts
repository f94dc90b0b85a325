import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@ragan/core';
import { augmentForClassifier, pgdAttack } from './augment.js';

describe('classifier augmentations and PGD [cpu]', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('corrupts each image differently, stays in [-1, 1], repeats for a seed, leaks nothing', () => {
    const x = tf.tidy(() => tf.mul(tf.sin(tf.range(0, 4 * 16 * 16 * 3).reshape([4, 16, 16, 3])), 0.8)) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const a = augmentForClassifier(x, new Rng(1), { blur: 1, stripes: 1 });
    const b = augmentForClassifier(x, new Rng(1), { blur: 1, stripes: 1 });
    const c = augmentForClassifier(x, new Rng(2), { blur: 1, stripes: 1 });
    expect(tf.memory().numTensors).toBe(before + 3);
    expect(a.shape).toEqual(x.shape);
    tf.tidy(() => {
      expect(a.min().dataSync()[0]).toBeGreaterThanOrEqual(-1);
      expect(a.max().dataSync()[0]).toBeLessThanOrEqual(1);
      expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBe(0);
      expect(tf.mean(tf.abs(tf.sub(a, c))).dataSync()[0]).toBeGreaterThan(0.01);
      expect(tf.mean(tf.abs(tf.sub(a, x))).dataSync()[0]).toBeGreaterThan(0.01);
    });
    tf.dispose([a, b, c, x]);
  });

  it('PGD stays within eps of the input and in [-1, 1], and raises the loss', () => {
    // a fixed linear "classifier": loss = mean(w · x); PGD should push x along sign(w)
    const w = tf.tidy(() => tf.sub(tf.randomUniform([1, 8, 8, 3], 0, 1, 'float32', 3), 0.5)) as tf.Tensor4D;
    const loss = (x: tf.Tensor4D) => tf.mean(tf.mul(x, w)) as tf.Scalar;
    const x = tf.tidy(() => tf.mul(tf.randomUniform([2, 8, 8, 3], -1, 1, 'float32', 4), 0.99)) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const adv = pgdAttack(loss, x, { eps: 0.05, steps: 3, seed: 1 });
    expect(tf.memory().numTensors).toBe(before + 1);
    tf.tidy(() => {
      expect(tf.max(tf.abs(tf.sub(adv, x))).dataSync()[0]!).toBeLessThanOrEqual(0.05 + 1e-6);
      expect(tf.min(adv).dataSync()[0]).toBeGreaterThanOrEqual(-1);
      expect(tf.max(adv).dataSync()[0]).toBeLessThanOrEqual(1);
    });
    tf.tidy(() => {
      expect(loss(adv).dataSync()[0]!).toBeGreaterThan(loss(x).dataSync()[0]! + 0.01);
    });
    tf.dispose([adv, x, w]);
  });
});
