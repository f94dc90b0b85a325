import * as tf from '@tensorflow/tfjs';

/**
 * Leaky ReLU, `x` for x > 0 and `slope * x` otherwise.
 *
 * - `x`: any shape.
 * - returns: same shape as `x`; the caller disposes it. `x` is not disposed.
 *
 * Written as `x * step(x, slope)` rather than `tf.leakyRelu`: the built-in's gradient uses `greater`,
 * which has no gradient in tfjs 4.22, so R1 (a gradient of a gradient through the discriminator)
 * throws "gradient function not found for Greater". `step` has a (zero) gradient, so this form is
 * differentiable twice and gives the same values and first derivative.
 */
export function leakyRelu<T extends tf.Tensor>(x: T, slope = 0.2): T {
  return tf.tidy(() => tf.mul(x, tf.step(x, slope)) as T);
}
