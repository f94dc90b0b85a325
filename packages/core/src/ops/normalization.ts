import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors/index.js';
import { assertRank, assertShape } from './shape-checks.js';

/**
 * Pixel norm (ProGAN): normalises every pixel's feature vector to unit root-mean-square.
 *
 * - `x`: [..., C] (normalised over the last axis)
 * - returns: same shape; the caller disposes it. `x` is not disposed.
 */
export function pixelNorm<T extends tf.Tensor>(x: T, eps = 1e-8): T {
  return tf.tidy(() => tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))) as T);
}

export interface ConditionalBatchNormOptions {
  /** Normalise with the batch's own moments (true) or with `movingMean`/`movingVar` (false). Default false. */
  training?: boolean;
  /** [C] running mean; required when `training` is false. Not disposed. */
  movingMean?: tf.Tensor1D;
  /** [C] running variance; required when `training` is false. Not disposed. */
  movingVar?: tf.Tensor1D;
  /** Added to the variance. Default 1e-5 (PyTorch/Keras batch norm). */
  eps?: number;
}

export interface ConditionalBatchNormResult {
  /** [N, H, W, C] */
  output: tf.Tensor4D;
  /** [C] the mean used: the batch mean in training, else a copy of `movingMean`. */
  mean: tf.Tensor1D;
  /** [C] the (biased) variance used: the batch variance in training, else a copy of `movingVar`. */
  variance: tf.Tensor1D;
}

/**
 * Conditional batch norm with the moments it used. Batch norm without its own affine, then a
 * per-sample scale and shift `gamma = groupWeights @ gammaTable`, `beta = groupWeights @ betaTable`:
 * a one-hot row picks one group's parameters, a two-group blend (continuous age) averages them.
 *
 * - `x`: [N, H, W, C]
 * - `gammaTable`: [K, C] per-group scale
 * - `betaTable`: [K, C] per-group shift
 * - `groupWeights`: [N, K] rows of group weights (one-hot or a blend summing to 1)
 * - returns: three new tensors, all disposed by the caller. No argument is disposed.
 */
export function conditionalBatchNormWithStats(
  x: tf.Tensor4D,
  gammaTable: tf.Tensor2D,
  betaTable: tf.Tensor2D,
  groupWeights: tf.Tensor2D,
  opts: ConditionalBatchNormOptions = {},
): ConditionalBatchNormResult {
  assertRank(x, 4, 'conditionalBatchNorm: x');
  const [n, , , c] = x.shape;
  assertRank(gammaTable, 2, 'conditionalBatchNorm: gammaTable');
  const k = gammaTable.shape[0];
  assertShape(gammaTable, [k, c], 'conditionalBatchNorm: gammaTable');
  assertShape(betaTable, [k, c], 'conditionalBatchNorm: betaTable');
  assertShape(groupWeights, [n, k], 'conditionalBatchNorm: groupWeights');
  const training = opts.training ?? false;
  const eps = opts.eps ?? 1e-5;
  if (!training) {
    if (!opts.movingMean || !opts.movingVar) throw new ShapeError('conditionalBatchNorm: movingMean and movingVar are required when training is false');
    assertShape(opts.movingMean, [c], 'conditionalBatchNorm: movingMean');
    assertShape(opts.movingVar, [c], 'conditionalBatchNorm: movingVar');
  }
  return tf.tidy(() => {
    let mean: tf.Tensor1D;
    let variance: tf.Tensor1D;
    if (training) {
      const m = tf.moments(x, [0, 1, 2]);
      mean = m.mean as tf.Tensor1D;
      variance = m.variance as tf.Tensor1D;
    } else {
      mean = opts.movingMean!.clone();
      variance = opts.movingVar!.clone();
    }
    const normalised = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
    const gamma = tf.matMul(groupWeights, gammaTable).reshape([n, 1, 1, c]);
    const beta = tf.matMul(groupWeights, betaTable).reshape([n, 1, 1, c]);
    const output = tf.add(tf.mul(normalised, gamma), beta) as tf.Tensor4D;
    return { output, mean, variance };
  });
}

/**
 * Conditional batch norm (see conditionalBatchNormWithStats), output only.
 *
 * - `x`: [N, H, W, C]; `gammaTable`, `betaTable`: [K, C]; `groupWeights`: [N, K]
 * - returns: [N, H, W, C]; the caller disposes it. No argument is disposed.
 */
export function conditionalBatchNorm(
  x: tf.Tensor4D,
  gammaTable: tf.Tensor2D,
  betaTable: tf.Tensor2D,
  groupWeights: tf.Tensor2D,
  opts: ConditionalBatchNormOptions = {},
): tf.Tensor4D {
  const { output, mean, variance } = conditionalBatchNormWithStats(x, gammaTable, betaTable, groupWeights, opts);
  mean.dispose();
  variance.dispose();
  return output;
}
