import * as tf from '@tensorflow/tfjs';
import { assertRank } from './shape-checks.js';

/**
 * Group size actually used for a batch of `n`: StyleGAN2 uses min(groupSize, n) and requires it to
 * divide n; we take the largest divisor of n not above groupSize instead of failing, so evaluation
 * can run any batch size [ours].
 */
export function minibatchGroupSize(n: number, groupSize: number): number {
  let g = Math.max(1, Math.min(groupSize, n));
  while (n % g !== 0) g--;
  return g;
}

/**
 * Minibatch standard deviation (ProGAN/StyleGAN2), one extra channel: the batch is split into groups
 * of `G` samples (sample n belongs to group column n mod N/G, as in StyleGAN2), the standard deviation
 * of every feature over each group is averaged over H, W and C, and that value is appended as a
 * constant channel to each sample of the group.
 *
 * - `x`: [N, H, W, C]
 * - returns: [N, H, W, C + 1]; the caller disposes it. `x` is not disposed.
 *
 * Uses only reshape, mean, sub, square, sqrt, tile and concat, which tfjs differentiates twice (R1).
 */
export function minibatchStddev(x: tf.Tensor4D, groupSize = 4, eps = 1e-8): tf.Tensor4D {
  assertRank(x, 4, 'minibatchStddev: x');
  const [n, h, w, c] = x.shape;
  const g = minibatchGroupSize(n, groupSize);
  const m = n / g;
  return tf.tidy(() => {
    const y = x.reshape([g, m, h * w * c]);
    const centred = tf.sub(y, tf.mean(y, 0, true));
    const std = tf.sqrt(tf.add(tf.mean(tf.square(centred), 0), eps)); // [M, HWC]
    const perGroup = tf.mean(std, 1); // [M]
    const perSample = g === 1 ? perGroup : tf.tile(perGroup, [g]); // [N]
    const channel = tf.mul(perSample.reshape([n, 1, 1, 1]), tf.ones([1, h, w, 1]));
    return tf.concat([x, channel as tf.Tensor4D], 3);
  });
}
