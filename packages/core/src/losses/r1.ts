import * as tf from '@tensorflow/tfjs';
import { pickGroupLogit } from './group-logit.js';

/**
 * R1 penalty `gamma/2 * E ||grad_x D_y(x)||^2` on real images. `scoreFn` maps images to the logit of
 * each image's own group (`[N]`). Differentiable w.r.t. D's weights (second-order gradient).
 */
export function r1Penalty(scoreFn: (x: tf.Tensor4D) => tf.Tensor1D, real: tf.Tensor4D, gamma: number): tf.Scalar {
  return tf.tidy(() => {
    const g = tf.grad((x: tf.Tensor) => tf.sum(scoreFn(x as tf.Tensor4D)))(real);
    const perSample = tf.sum(tf.square(g), [1, 2, 3]);
    return tf.mul(gamma / 2, tf.mean(perSample));
  });
}

/**
 * R1 on the reals, and D's logits on them from the SAME forward pass, for the adversarial term: a D step
 * with R1 then runs D on the reals once instead of twice (same values and gradients). `logitsFn` maps
 * images to `[N, K]` logits; `groups` `[N, K]` pick each image's own group. The caller disposes both
 * results (`logits` stays alive outside any tidy until then; inside `tf.variableGrads` it is still on
 * the tape, so the adversarial term's gradient flows through it).
 */
export function r1PenaltyWithLogits(
  logitsFn: (x: tf.Tensor4D) => tf.Tensor2D,
  real: tf.Tensor4D,
  groups: tf.Tensor2D,
  gamma: number,
): { penalty: tf.Scalar; logits: tf.Tensor2D } {
  let logits: tf.Tensor2D | undefined;
  try {
    const penalty = tf.tidy(() => {
      const g = tf.grad((x: tf.Tensor) => {
        logits = tf.keep(logitsFn(x as tf.Tensor4D));
        return tf.sum(pickGroupLogit(logits, groups));
      })(real);
      return tf.mul(gamma / 2, tf.mean(tf.sum(tf.square(g), [1, 2, 3]))) as tf.Scalar;
    });
    return { penalty, logits: logits! };
  } catch (e) {
    logits?.dispose();
    throw e;
  }
}
