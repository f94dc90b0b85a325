import * as tf from '@tensorflow/tfjs';
import { checkLogits, pickGroupLogit } from './group-logit.js';

/** Non-saturating D loss: `softplus(-D_y(x)) + softplus(D_y'(x'))`, batch mean. */
export function discriminatorAdversarialLoss(realLogits: tf.Tensor2D, realGroups: tf.Tensor2D, fakeLogits: tf.Tensor2D, fakeGroups: tf.Tensor2D): tf.Scalar {
  checkLogits(realLogits, realGroups, 'discriminatorAdversarialLoss (real)');
  checkLogits(fakeLogits, fakeGroups, 'discriminatorAdversarialLoss (fake)');
  return tf.tidy(() =>
    tf.add(tf.mean(tf.softplus(tf.neg(pickGroupLogit(realLogits, realGroups)))), tf.mean(tf.softplus(pickGroupLogit(fakeLogits, fakeGroups)))),
  );
}

/** Non-saturating G loss: `softplus(-D_y'(x'))`, batch mean. */
export function generatorAdversarialLoss(fakeLogits: tf.Tensor2D, targetGroups: tf.Tensor2D): tf.Scalar {
  checkLogits(fakeLogits, targetGroups, 'generatorAdversarialLoss');
  return tf.tidy(() => tf.mean(tf.softplus(tf.neg(pickGroupLogit(fakeLogits, targetGroups)))));
}
