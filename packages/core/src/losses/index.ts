import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors/index.js';

/**
 * RAGAN's losses (docs/model.md, "Losses"). Each returns a scalar; callers own (dispose) it and the
 * inputs stay theirs. Logits are `[N, K]`, one per age group; `groups` are one-hot or blend weights
 * `[N, K]` selecting which group's logit a term uses.
 */

function checkLogits(logits: tf.Tensor, groups: tf.Tensor, what: string): void {
  if (logits.rank !== 2 || groups.rank !== 2 || logits.shape.join() !== groups.shape.join()) {
    throw new ShapeError(`${what}: logits ${JSON.stringify(logits.shape)} and group weights ${JSON.stringify(groups.shape)} must both be [N, K]`);
  }
}

/** The logit of the group in question: `sum_k logits[n,k] * groups[n,k]` → `[N]`. */
export function pickGroupLogit(logits: tf.Tensor2D, groups: tf.Tensor2D): tf.Tensor1D {
  checkLogits(logits, groups, 'pickGroupLogit');
  return tf.tidy(() => tf.sum(tf.mul(logits, groups), 1));
}

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

/** Cross-entropy of classifier logits against target group weights (one-hot or blends), batch mean. */
export function ageClassificationLoss(logits: tf.Tensor2D, targetGroups: tf.Tensor2D): tf.Scalar {
  checkLogits(logits, targetGroups, 'ageClassificationLoss');
  return tf.tidy(() => tf.mean(tf.neg(tf.sum(tf.mul(targetGroups, tf.logSoftmax(logits)), 1))));
}

/** Mean absolute error (the spec's L1 reconstruction and cycle losses, and the identity feature loss). */
export function l1Loss(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  if (a.shape.join() !== b.shape.join()) throw new ShapeError(`l1Loss: shapes ${JSON.stringify(a.shape)} and ${JSON.stringify(b.shape)} differ`);
  return tf.tidy(() => tf.mean(tf.abs(tf.sub(a, b))));
}

/** `1 - cos(E(x'), E(x))`, batch mean, for embeddings `[N, D]`. */
export function cosineIdentityLoss(embA: tf.Tensor2D, embB: tf.Tensor2D): tf.Scalar {
  if (embA.shape.join() !== embB.shape.join() || embA.rank !== 2) throw new ShapeError(`cosineIdentityLoss: embeddings must both be [N, D], got ${JSON.stringify(embA.shape)} and ${JSON.stringify(embB.shape)}`);
  return tf.tidy(() => {
    const dot = tf.sum(tf.mul(embA, embB), 1);
    const na = tf.sqrt(tf.add(tf.sum(tf.square(embA), 1), 1e-12));
    const nb = tf.sqrt(tf.add(tf.sum(tf.square(embB), 1), 1e-12));
    return tf.mean(tf.sub(1, tf.div(dot, tf.mul(na, nb))));
  });
}
