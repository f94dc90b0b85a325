import * as tf from '@tensorflow/tfjs';
import { leakyRelu } from '../ops/activations.js';
import { pixelNorm } from '../ops/normalization.js';
import { downsampleAvg2x } from '../ops/resample.js';
import { assertShape } from '../ops/shape-checks.js';
import { Conv2D } from './conv2d.js';
import { Module } from './module.js';
import type { Rng } from '../random/rng.js';

export interface ResBlockArgs {
  /** Input channels. Required. */
  inChannels: number;
  /** Output channels. Required. */
  filters: number;
  /** Halve height and width (first conv stride 2, skip through 2×2 average + 1×1 conv). Default false. */
  down?: boolean;
  /** Leaky-ReLU slope. Default 0.2. */
  slope?: number;
  /** Pixel-norm epsilon. Default 1e-8. */
  eps?: number;
}

export type ResBlockConfig = { name: string } & Required<ResBlockArgs>;

/**
 * Pre-activation residual block of the identity encoder [ours]:
 * `h = conv2(lrelu(pn(conv1(lrelu(pn(x))))))`, `out = (skip(x) + h) / √2`.
 * conv1 is 3×3 (stride 2 with 1-pixel padding when `down`, so output pixel i is centred on input 2i),
 * conv2 3×3. The skip is the identity when shapes match, else a 1×1 conv without bias, applied after
 * a 2×2 average when `down` ([ours]: averaging instead of a strided 1×1 keeps all input pixels on the
 * skip path). The 1/√2 keeps the variance of the sum at that of its parts (StyleGAN2 residual nets).
 */
export class ResBlock extends Module {
  static override className = 'ResBlock';
  readonly conv1: Conv2D;
  readonly conv2: Conv2D;
  readonly skip: Conv2D | null;
  private readonly args: Required<ResBlockArgs>;

  constructor(name: string, args: ResBlockArgs, rng: Rng) {
    super(name);
    this.args = { inChannels: args.inChannels, filters: args.filters, down: args.down ?? false, slope: args.slope ?? 0.2, eps: args.eps ?? 1e-8 };
    const a = this.args;
    this.conv1 = this.addChild(new Conv2D('conv1', { inChannels: a.inChannels, filters: a.filters, kernelSize: 3, strides: a.down ? 2 : 1, padding: 1 }, rng));
    this.conv2 = this.addChild(new Conv2D('conv2', { inChannels: a.filters, filters: a.filters, kernelSize: 3, padding: 1 }, rng));
    this.skip =
      a.down || a.inChannels !== a.filters
        ? this.addChild(new Conv2D('skip', { inChannels: a.inChannels, filters: a.filters, kernelSize: 1, useBias: false, gain: 1 }, rng))
        : null;
  }

  /** x: [N, H, W, inChannels] -> [N, H or H/2, W or W/2, filters]; the caller disposes the result, x is not disposed. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    assertShape(x, [null, null, null, this.args.inChannels], `ResBlock "${this.name}": x`);
    const { slope, eps, down } = this.args;
    return tf.tidy(() => {
      let h = this.conv1.apply(leakyRelu(pixelNorm(x, eps), slope));
      h = this.conv2.apply(leakyRelu(pixelNorm(h, eps), slope));
      const s = this.skip ? this.skip.apply(down ? downsampleAvg2x(x) : x) : x;
      return tf.mul(tf.add(s, h), Math.SQRT1_2);
    });
  }

  getConfig(): ResBlockConfig {
    return { name: this.name, ...this.args };
  }
}
