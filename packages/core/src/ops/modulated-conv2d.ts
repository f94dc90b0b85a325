import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors/index.js';
import { assertRank, assertShape } from './shape-checks.js';

/** Padding accepted by our convolutions: tfjs's 'same'/'valid', or a symmetric pixel count. */
export type Padding = 'same' | 'valid' | number;

/**
 * StyleGAN2 demodulation coefficients `d[n, o] = 1 / sqrt(sum_{kh, kw, i} (w[kh, kw, i, o] * s[n, i])^2 + eps)`.
 *
 * - `kernel`: [k, k, Cin, Cout]
 * - `style`: [N, Cin]
 * - returns: [N, Cout]; the caller disposes it. No argument is disposed.
 */
export function demodulationCoefficients(kernel: tf.Tensor4D, style: tf.Tensor2D, eps = 1e-8): tf.Tensor2D {
  assertRank(kernel, 4, 'demodulationCoefficients: kernel');
  assertShape(style, [null, kernel.shape[2]], 'demodulationCoefficients: style');
  return tf.tidy(() => {
    // sum_{kh,kw,i} w^2 s^2 = (s^2 [N, Cin]) @ (sum_{kh,kw} w^2 [Cin, Cout])
    const w2 = tf.sum(tf.square(kernel), [0, 1]) as tf.Tensor2D;
    return tf.rsqrt(tf.add(tf.matMul(tf.square(style), w2), eps)) as tf.Tensor2D;
  });
}

export interface ModulatedConv2dOptions {
  /** Scale each sample's output channels by the demodulation coefficients. Default true. */
  demodulate?: boolean;
  /** Added inside the demodulation square root. Default 1e-8 (StyleGAN2). */
  eps?: number;
  /** Default 'same'. */
  padding?: Padding;
}

/**
 * Modulated convolution (StyleGAN2), non-fused: tfjs has no grouped convolution, so instead of one
 * kernel per sample we scale the input by the style, convolve with the shared kernel and scale the
 * output by the demodulation coefficients; by linearity this equals convolving each sample with its
 * own kernel `w[.., i, o] * s[n, i] * d[n, o]`. Stride 1.
 *
 * - `x`: [N, H, W, Cin]
 * - `kernel`: [k, k, Cin, Cout] shared by all samples
 * - `style`: [N, Cin] per-sample input-channel scales
 * - returns: [N, H', W', Cout]; the caller disposes it. No argument is disposed.
 */
export function modulatedConv2d(x: tf.Tensor4D, kernel: tf.Tensor4D, style: tf.Tensor2D, opts: ModulatedConv2dOptions = {}): tf.Tensor4D {
  assertRank(x, 4, 'modulatedConv2d: x');
  assertRank(kernel, 4, 'modulatedConv2d: kernel');
  const [n, , , cin] = x.shape;
  if (kernel.shape[2] !== cin)
    throw new ShapeError(`modulatedConv2d: kernel [${kernel.shape.join(', ')}] expects ${kernel.shape[2]} input channels, x has ${cin}`);
  assertShape(style, [n, cin], 'modulatedConv2d: style');
  const demodulate = opts.demodulate ?? true;
  return tf.tidy((): tf.Tensor4D => {
    const scaled = tf.mul(x, style.reshape([n, 1, 1, cin]));
    const y = tf.conv2d(scaled as tf.Tensor4D, kernel, 1, opts.padding ?? 'same');
    if (!demodulate) return y;
    const d = demodulationCoefficients(kernel, style, opts.eps ?? 1e-8);
    return tf.mul(y, d.reshape([n, 1, 1, kernel.shape[3]]));
  });
}
