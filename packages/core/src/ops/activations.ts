import * as tf from '@tensorflow/tfjs';
import { registerSecondOrderGradients } from '@ragan/backend';

/**
 * Leaky ReLU, `x` for x > 0 and `slope * x` otherwise.
 *
 * - `x`: any shape.
 * - returns: same shape as `x`; the caller disposes it. `x` is not disposed.
 *
 * tfjs's own kernel: its gradient uses `greater`, which tfjs 4.22 cannot differentiate, so R1 (a
 * gradient of a gradient through the discriminator) needs the zero gradients for comparison ops that
 * registerSecondOrderGradients() (from @ragan/backend) adds. We register them here on first use (idempotent, global, no
 * backend chosen), so models work for R1 even before initBackend. Compared with the earlier
 * `x * step(x)` form this keeps one tensor fewer alive per activation for the backward pass, which
 * matters on a backend with a 4 GiB heap.
 */
export function leakyRelu<T extends tf.Tensor>(x: T, slope = 0.2): T {
  ensureGradients();
  return tf.leakyRelu(x, slope) as T;
}

let registered = false;
function ensureGradients(): void {
  if (registered) return;
  registerSecondOrderGradients();
  registered = true;
}
