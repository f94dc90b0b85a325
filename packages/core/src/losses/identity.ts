import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors/index.js';

/** `1 - cos(E(x'), E(x))`, batch mean, for embeddings `[N, D]`. */
export function cosineIdentityLoss(embA: tf.Tensor2D, embB: tf.Tensor2D): tf.Scalar {
  if (embA.shape.join() !== embB.shape.join() || embA.rank !== 2)
    throw new ShapeError(`cosineIdentityLoss: embeddings must both be [N, D], got ${JSON.stringify(embA.shape)} and ${JSON.stringify(embB.shape)}`);
  return tf.tidy(() => {
    const dot = tf.sum(tf.mul(embA, embB), 1);
    const na = tf.sqrt(tf.add(tf.sum(tf.square(embA), 1), 1e-12));
    const nb = tf.sqrt(tf.add(tf.sum(tf.square(embB), 1), 1e-12));
    return tf.mean(tf.sub(1, tf.div(dot, tf.mul(na, nb))));
  });
}
