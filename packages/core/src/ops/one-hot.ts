import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors/index.js';
import { assertRank } from './shape-checks.js';

/**
 * One-hot rows from group indices, as float32 group weights.
 *
 * - `indices`: N integers in [0, depth), as an array or an int32/float32 [N] tensor (not disposed;
 *   tensor values are not range-checked, out-of-range rows come out all zero as in tf.oneHot)
 * - returns: [N, depth] float32; the caller disposes it.
 */
export function oneHot(indices: number[] | tf.Tensor1D, depth: number): tf.Tensor2D {
  if (!Number.isInteger(depth) || depth < 1) throw new ShapeError(`oneHot: depth must be a positive integer, got ${depth}`);
  if (Array.isArray(indices)) {
    for (const i of indices) {
      if (!Number.isInteger(i) || i < 0 || i >= depth) throw new ShapeError(`oneHot: index ${i} is not an integer in [0, ${depth})`);
    }
    return tf.tidy(() => tf.oneHot(tf.tensor1d(indices, 'int32'), depth).toFloat() as tf.Tensor2D);
  }
  assertRank(indices, 1, 'oneHot: indices');
  return tf.tidy(() => tf.oneHot(indices.toInt(), depth).toFloat() as tf.Tensor2D);
}
