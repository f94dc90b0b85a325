import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors/index.js';

/** Mean absolute error (the spec's L1 reconstruction and cycle losses, and the identity feature loss). */
export function l1Loss(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  if (a.shape.join() !== b.shape.join()) throw new ShapeError(`l1Loss: shapes ${JSON.stringify(a.shape)} and ${JSON.stringify(b.shape)} differ`);
  return tf.tidy(() => tf.mean(tf.abs(tf.sub(a, b))));
}
