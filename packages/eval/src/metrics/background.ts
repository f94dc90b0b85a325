import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '@ragan/core';

export interface BackgroundScores {
  /** Mean absolute error outside the face mask, on the [0, 1] intensity scale. */
  mae: number;
  /** PSNR (dB) outside the face mask on the [0, 1] scale; Infinity when identical. */
  psnr: number;
  /** Share of pixels that counted as background. */
  backgroundFraction: number;
}

/**
 * How much a re-aged image changed the background: error between input and output restricted to
 * pixels where the face mask is 0 (weighted by 1 - mask). Images in [-1, 1], `[N,H,W,3]`; mask
 * `[N,H,W,1]` in [0, 1]. Inputs are not disposed.
 */
export function backgroundScores(input: tf.Tensor4D, output: tf.Tensor4D, mask: tf.Tensor4D): BackgroundScores {
  if (input.shape.join() !== output.shape.join()) throw new ShapeError(`input ${input.shape} and output ${output.shape} differ in shape`);
  if (mask.shape[3] !== 1 || mask.shape.slice(0, 3).join() !== input.shape.slice(0, 3).join()) {
    throw new ShapeError(`mask must be [N,H,W,1] matching the images, got ${mask.shape}`);
  }
  const [absSum, sqSum, wSum] = tf.tidy(() => {
    const w = tf.sub(1, mask);
    const diff = tf.div(tf.sub(output, input), 2); // [-1,1] -> [0,1] scale
    const wc = tf.mul(w, 3); // three channels per pixel
    return [tf.sum(tf.mul(tf.abs(diff), w)), tf.sum(tf.mul(tf.square(diff), w)), tf.sum(wc)];
  });
  const a = absSum.dataSync()[0]!;
  const s = sqSum.dataSync()[0]!;
  const n = wSum.dataSync()[0]!;
  tf.dispose([absSum, sqSum, wSum]);
  const pixels = input.shape[0] * input.shape[1] * input.shape[2];
  if (n === 0) return { mae: 0, psnr: Infinity, backgroundFraction: 0 };
  const mse = s / n;
  return { mae: a / n, psnr: mse === 0 ? Infinity : 10 * Math.log10(1 / mse), backgroundFraction: n / 3 / pixels };
}
