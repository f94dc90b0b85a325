import * as tf from '@tensorflow/tfjs';
import { checkLogits } from './group-logit.js';

/** Cross-entropy of classifier logits against target group weights (one-hot or blends), batch mean. */
export function ageClassificationLoss(logits: tf.Tensor2D, targetGroups: tf.Tensor2D): tf.Scalar {
  checkLogits(logits, targetGroups, 'ageClassificationLoss');
  return tf.tidy(() => tf.mean(tf.neg(tf.sum(tf.mul(targetGroups, tf.logSoftmax(logits)), 1))));
}
