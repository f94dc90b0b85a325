import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { backgroundScores } from './background.js';

describe('backgroundScores', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('ignores changes inside the face and measures those outside it', () => {
    const x = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
    // face = left half; output differs by 0.5 (0.25 on the [0,1] scale) on the left, 0.2 (0.1) on the right
    const mask = tf.tensor4d(
      Array.from({ length: 16 }, (_, i) => (i % 4 < 2 ? 1 : 0)),
      [1, 4, 4, 1],
    );
    const y = tf.tidy(() => tf.add(x, tf.mul(mask, 0.5)).add(tf.mul(tf.sub(1, mask), 0.2))) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const s = backgroundScores(x, y, mask);
    expect(tf.memory().numTensors).toBe(before);
    expect(s.mae).toBeCloseTo(0.1, 6);
    expect(s.psnr).toBeCloseTo(20, 4); // mse 0.01
    expect(s.backgroundFraction).toBeCloseTo(0.5, 6);
    expect(backgroundScores(x, x, mask).psnr).toBe(Infinity);
    tf.dispose([x, y, mask]);
  });

  it('refuses mismatched shapes with a clear error', () => {
    const a = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
    const b = tf.zeros([1, 4, 5, 3]) as tf.Tensor4D;
    const m = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
    expect(() => backgroundScores(a, b, m)).toThrow(/differ in shape/);
    tf.dispose([a, b, m]);
  });
});
