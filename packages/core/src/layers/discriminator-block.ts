import * as tf from '@tensorflow/tfjs';
import { leakyRelu } from '../ops/activations.js';
import { downsampleAvg2x } from '../ops/resample.js';
import { assertShape } from '../ops/shape-checks.js';
import { Conv2D } from './conv2d.js';
import { Module } from './module.js';
import type { Rng } from '../random/rng.js';

export interface DiscriminatorBlockArgs {
  /** Input channels. Required. */
  inChannels: number;
  /** Output channels. Required. */
  filters: number;
  /** Leaky-ReLU slope. Default 0.2. */
  slope?: number;
}

export type DiscriminatorBlockConfig = { name: string } & Required<DiscriminatorBlockArgs>;

/**
 * Residual downsampling block of the discriminator, no normalisation [ours, StyleGAN2 resnet D]:
 * `h = lrelu(conv2(lrelu(conv1(x))))` with conv1 3×3 (in→in) and conv2 3×3 stride 2 (in→filters,
 * 1-pixel padding); `skip = conv1×1(avg2×2(x))` without bias; `out = (skip + h) / √2`.
 * The stride-2 conv replaces StyleGAN2's blur + downsample to save compute on CPU; every op here
 * has second-order gradients in tfjs (R1).
 */
export class DiscriminatorBlock extends Module {
  static override className = 'DiscriminatorBlock';
  readonly conv1: Conv2D;
  readonly conv2: Conv2D;
  readonly skip: Conv2D;
  private readonly args: Required<DiscriminatorBlockArgs>;

  constructor(name: string, args: DiscriminatorBlockArgs, rng: Rng) {
    super(name);
    this.args = { inChannels: args.inChannels, filters: args.filters, slope: args.slope ?? 0.2 };
    const a = this.args;
    this.conv1 = this.addChild(new Conv2D('conv1', { inChannels: a.inChannels, filters: a.inChannels, kernelSize: 3, padding: 1 }, rng));
    this.conv2 = this.addChild(new Conv2D('conv2', { inChannels: a.inChannels, filters: a.filters, kernelSize: 3, strides: 2, padding: 1 }, rng));
    this.skip = this.addChild(new Conv2D('skip', { inChannels: a.inChannels, filters: a.filters, kernelSize: 1, useBias: false, gain: 1 }, rng));
  }

  /** x: [N, H, W, inChannels] (H, W even) -> [N, H/2, W/2, filters]; the caller disposes the result, x is not disposed. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    assertShape(x, [null, null, null, this.args.inChannels], `DiscriminatorBlock "${this.name}": x`);
    const slope = this.args.slope;
    return tf.tidy(() => {
      const h = leakyRelu(this.conv2.apply(leakyRelu(this.conv1.apply(x), slope)), slope);
      const s = this.skip.apply(downsampleAvg2x(x));
      return tf.mul(tf.add(s, h), Math.SQRT1_2);
    });
  }

  getConfig(): DiscriminatorBlockConfig {
    return { name: this.name, ...this.args };
  }
}
