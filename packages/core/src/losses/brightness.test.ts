import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useStockBackend } from '../../test/helpers.js';
import { BRIGHTNESS_MARGIN, brightnessLoss } from './cues.js';

describe('brightnessLoss', () => {
  let ones: tf.Tensor4D;
  beforeAll(async () => {
    await useStockBackend('cpu');
    ones = tf.ones([2, 8, 8, 1]);
  });
  const img = () => tf.randomUniform([2, 8, 8, 3], -0.5, 0.5, 'float32', 4) as tf.Tensor4D;

  it('is free up to the margin, then charges the excess of the blurred brightness change', () => {
    const x = img();
    const slight = tf.add(x, BRIGHTNESS_MARGIN - 0.05) as tf.Tensor4D;
    const darker = tf.sub(x, 0.6) as tf.Tensor4D; // a region painted dark: 0.35 beyond the margin
    const before = tf.memory().numTensors;
    const same = brightnessLoss(x, x, ones);
    const free = brightnessLoss(slight, x, ones);
    const dark = brightnessLoss(darker, x, ones);
    expect(tf.memory().numTensors).toBe(before + 3);
    expect(same.dataSync()[0]).toBe(0);
    expect(free.dataSync()[0]).toBe(0);
    expect(dark.dataSync()[0]).toBeCloseTo(0.6 - BRIGHTNESS_MARGIN, 5);
    // a recolouring at constant luma (R up, B down by 0.299/0.114 as much) costs nothing here: that is chromaLoss's job
    const recolour = tf.add(x, tf.tensor1d([0.3, 0, (-0.3 * 0.299) / 0.114])) as tf.Tensor4D;
    expect(brightnessLoss(recolour, x, ones).dataSync()[0]).toBeCloseTo(0, 5);
    tf.dispose([x, slight, darker, same, free, dark, recolour]);
  });

  it('looks only inside the mask, and fine texture below the blur averages out', () => {
    const x = img();
    const half = tf.concat([tf.ones([2, 8, 4, 1]), tf.zeros([2, 8, 4, 1])], 2) as tf.Tensor4D;
    const rightDark = tf.concat([tf.zeros([2, 8, 4, 3]), tf.fill([2, 8, 4, 3], -0.8)], 2);
    const outside = tf.add(x, rightDark) as tf.Tensor4D;
    expect(brightnessLoss(outside, x, half).dataSync()[0]).toBe(0);
    expect(brightnessLoss(outside, x, tf.zeros([2, 8, 8, 1])).dataSync()[0]).toBe(0);
    // wrinkle-like texture: a ±0.8 checkerboard of brightness is gone after the 4×4 blur, not per pixel
    const checker = tf.tensor4d(
      Array.from({ length: 2 * 8 * 8 * 3 }, (_, i) => (Math.floor(i / 3) % 2 === Math.floor(i / 24) % 2 ? 0.8 : -0.8)),
      [2, 8, 8, 3],
    );
    const textured = tf.add(x, checker) as tf.Tensor4D;
    expect(brightnessLoss(textured, x, ones).dataSync()[0]).toBeCloseTo(0, 6);
    expect(brightnessLoss(textured, x, ones, 1).dataSync()[0]).toBeCloseTo(0.8 - BRIGHTNESS_MARGIN, 5);
    expect(() => brightnessLoss(x, x, ones, 3)).toThrow(/pool 3 must divide 8×8/);
    expect(() => brightnessLoss(x, x, ones, 4, -1)).toThrow(/margin: -1 must be a number ≥ 0/);
    tf.dispose([x, half, rightDark, outside, checker, textured]);
  });

  it('has a gradient that lightens a region painted dark', () => {
    const x = img();
    const dark = tf.variable(tf.sub(x, 0.6));
    const g = tf.grad((v: tf.Tensor) => brightnessLoss(v as tf.Tensor4D, x, ones))(dark);
    expect(g.max().dataSync()[0]).toBeLessThanOrEqual(0); // raising any channel lowers the loss
    expect(g.min().dataSync()[0]).toBeLessThan(0);
    tf.dispose([x, dark, g]);
  });
});
