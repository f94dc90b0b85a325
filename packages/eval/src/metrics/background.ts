import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '@ragan/core';
import type { MetricDefinition } from './registry.js';

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

export interface BackgroundMetricResult {
  pairs: number;
  /** Mean absolute error outside the face mask on the [0, 1] scale, pooled over every background pixel. */
  mae: number;
  /** PSNR (dB) of the pooled background MSE; null when the background never changed (infinite PSNR). */
  psnr: number | null;
  /** Mean share of each image that counted as background. */
  backgroundFraction: number;
}

/** How much re-aging disturbed what is not face: the model is supposed to leave it untouched. */
export const backgroundMetric: MetricDefinition<BackgroundMetricResult> = {
  name: 'background',
  description: 'mean absolute error and PSNR outside the face mask',
  requires: [],
  create() {
    let pairs = 0;
    let weight = 0;
    let absSum = 0;
    let sqSum = 0;
    let fracSum = 0;
    return {
      async update(batch) {
        for (const t of batch.targets) {
          const s = backgroundScores(t.inputs, t.outputs, t.masks);
          const n = t.rows.length;
          // Back from per-batch means to sums, so batches of different size and mask area pool correctly.
          const w = s.backgroundFraction * n * t.inputs.shape[1] * t.inputs.shape[2] * 3;
          pairs += n;
          fracSum += s.backgroundFraction * n;
          weight += w;
          absSum += s.mae * w;
          sqSum += (s.psnr === Infinity ? 0 : 10 ** (-s.psnr / 10)) * w;
        }
      },
      async finish() {
        const mse = weight ? sqSum / weight : 0;
        return { pairs, mae: weight ? absSum / weight : 0, psnr: mse > 0 ? 10 * Math.log10(1 / mse) : null, backgroundFraction: pairs ? fracSum / pairs : 0 };
      },
    };
  },
};
