import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors/index.js';

/** Logits `[N, K]` (one per age group) and group weights `[N, K]` (one-hot or blends) must match. */
export function checkLogits(logits: tf.Tensor, groups: tf.Tensor, what: string): void {
  if (logits.rank !== 2 || groups.rank !== 2 || logits.shape.join() !== groups.shape.join()) {
    throw new ShapeError(`${what}: logits ${JSON.stringify(logits.shape)} and group weights ${JSON.stringify(groups.shape)} must both be [N, K]`);
  }
}

/** The logit of the group in question: `sum_k logits[n,k] * groups[n,k]` → `[N]`. */
export function pickGroupLogit(logits: tf.Tensor2D, groups: tf.Tensor2D): tf.Tensor1D {
  checkLogits(logits, groups, 'pickGroupLogit');
  return tf.tidy(() => tf.sum(tf.mul(logits, groups), 1));
}
