import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useStockBackend } from '../../test/helpers.js';
import { chromaLoss } from './cues.js';

describe('chromaLoss', () => {
  beforeAll(async () => {
    await useStockBackend('cpu');
    ones = tf.ones([2, 8, 8, 1]);
  });
  const img = () => tf.randomUniform([2, 8, 8, 3], -0.5, 0.5, 'float32', 4) as tf.Tensor4D;
  let ones: tf.Tensor4D;

  it('is 0 for the same image and for a change of brightness alone; it charges a recolouring', () => {
    const x = img();
    const brighter = tf.add(x, 0.3) as tf.Tensor4D;
    // teal: red down, green and blue up, in the whole face
    const teal = tf.add(x, tf.tensor1d([-0.2, 0.1, 0.1])) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const same = chromaLoss(x, x, ones);
    const bright = chromaLoss(brighter, x, ones);
    const recolour = chromaLoss(teal, x, ones);
    expect(tf.memory().numTensors).toBe(before + 3);
    expect(same.dataSync()[0]).toBe(0);
    expect(bright.dataSync()[0]).toBeCloseTo(0, 6);
    // Cb = -0.1687·(-0.2) - 0.3313·0.1 + 0.5·0.1 = 0.0506, Cr = 0.5·(-0.2) - 0.4187·0.1 - 0.0813·0.1 = -0.15
    expect(recolour.dataSync()[0]).toBeCloseTo((0.050622 + 0.15) / 2, 5);
    tf.dispose([x, brighter, teal, same, bright, recolour]);
  });

  it('looks only inside the mask, and a recoloured detail smaller than the blur counts less than a region', () => {
    const x = img();
    const half = tf.concat([tf.ones([2, 8, 4, 1]), tf.zeros([2, 8, 4, 1])], 2) as tf.Tensor4D;
    // recolour only the right half (outside the mask): no charge
    const shift = tf.concat([tf.zeros([2, 8, 4, 3]), tf.fill([2, 8, 4, 3], 0).add(tf.tensor1d([0.3, -0.3, 0]))], 2);
    const outside = tf.add(x, shift) as tf.Tensor4D;
    expect(chromaLoss(outside, x, half).dataSync()[0]).toBeCloseTo(0, 6);
    // no face at all: 0, not NaN
    expect(chromaLoss(outside, x, tf.zeros([2, 8, 8, 1])).dataSync()[0]).toBe(0);
    // a checkerboard of opposite recolourings averages out under the 4×4 blur; per pixel it would not
    const checker = tf.tensor4d(
      Array.from({ length: 2 * 8 * 8 * 3 }, (_, i) => (Math.floor(i / 3) % 2 === Math.floor(i / 24) % 2 ? 0.2 : -0.2) * ((i % 3) - 1)),
      [2, 8, 8, 3],
    );
    const speckled = tf.add(x, checker) as tf.Tensor4D;
    expect(chromaLoss(speckled, x, ones).dataSync()[0]).toBeCloseTo(0, 6);
    expect(chromaLoss(speckled, x, ones, 1).dataSync()[0]).toBeGreaterThan(0.05);
    expect(() => chromaLoss(x, x, ones, 3)).toThrow(/pool 3 must divide 8×8/);
    expect(() => chromaLoss(x, x, tf.ones([2, 8, 8, 3]) as tf.Tensor4D)).toThrow(/\[N,H,W,1\] mask/);
  });

  it('has a gradient that pulls the generated image back towards the source colours', () => {
    const x = img();
    const teal = tf.variable(tf.add(x, tf.tensor1d([-0.2, 0.1, 0.1])));
    const g = tf.grad((v: tf.Tensor) => chromaLoss(v as tf.Tensor4D, x, ones))(teal);
    const red = g.slice([0, 0, 0, 0], [2, 8, 8, 1]).mean().dataSync()[0]!;
    expect(red).toBeLessThan(0); // raising red lowers the loss
    tf.dispose([x, teal, g]);
  });
});
