import * as tf from '@tensorflow/tfjs';
import { leakyRelu } from '../ops/activations.js';
import { upsampleNearest2x } from '../ops/resample.js';
import { assertShape } from '../ops/shape-checks.js';
import { Conv2D } from './conv2d.js';
import { ModulatedConv2D } from './modulated-conv2d.js';
import { Module } from './module.js';
import type { Rng } from '../random/rng.js';

export interface ModulatedResBlockArgs {
  /** Input channels. Required. */
  inChannels: number;
  /** Output channels. Required. */
  filters: number;
  /** Style length (f_aw). Required. */
  styleDim: number;
  /** Leaky-ReLU slope. Default 0.2. */
  slope?: number;
  /** Weight demodulation in both convs. Default true. */
  demodulate?: boolean;
  /** Learning-rate multiplier of the affines A. Default 0.01. */
  affineLrMultiplier?: number;
}

export type ModulatedResBlockConfig = { name: string } & Required<ModulatedResBlockArgs>;

/** Fills the defaults shared by both modulated decoder blocks. */
function resolveModulatedArgs(args: ModulatedResBlockArgs): Required<ModulatedResBlockArgs> {
  return {
    inChannels: args.inChannels,
    filters: args.filters,
    styleDim: args.styleDim,
    slope: args.slope ?? 0.2,
    demodulate: args.demodulate ?? true,
    affineLrMultiplier: args.affineLrMultiplier ?? 0.01,
  };
}

/**
 * Decoder residual block at the bottleneck [ours]: two modulated 3×3 convs in pre-activation order,
 * `h = mconv2(lrelu(mconv1(lrelu(x), w)), w)`, `out = (skip(x) + h) / √2`; the skip is the identity,
 * or a 1×1 conv without bias if the channel count changes. Each conv has its own affine A of the style.
 */
export class ModulatedResBlock extends Module {
  static override className = 'ModulatedResBlock';
  readonly conv1: ModulatedConv2D;
  readonly conv2: ModulatedConv2D;
  readonly skip: Conv2D | null;
  private readonly args: Required<ModulatedResBlockArgs>;

  constructor(name: string, args: ModulatedResBlockArgs, rng: Rng) {
    super(name);
    this.args = resolveModulatedArgs(args);
    const a = this.args;
    const common = { styleDim: a.styleDim, kernelSize: 3, demodulate: a.demodulate, affineLrMultiplier: a.affineLrMultiplier };
    this.conv1 = this.addChild(new ModulatedConv2D('conv1', { ...common, inChannels: a.inChannels, filters: a.filters }, rng));
    this.conv2 = this.addChild(new ModulatedConv2D('conv2', { ...common, inChannels: a.filters, filters: a.filters }, rng));
    this.skip =
      a.inChannels !== a.filters
        ? this.addChild(new Conv2D('skip', { inChannels: a.inChannels, filters: a.filters, kernelSize: 1, useBias: false, gain: 1 }, rng))
        : null;
  }

  /**
   * - `x`: [N, H, W, inChannels]; `style`: [N, styleDim]
   * - returns: [N, H, W, filters]; the caller disposes it. No argument is disposed.
   */
  apply(x: tf.Tensor4D, style: tf.Tensor2D): tf.Tensor4D {
    assertShape(x, [null, null, null, this.args.inChannels], `ModulatedResBlock "${this.name}": x`);
    const slope = this.args.slope;
    return tf.tidy(() => {
      let h = this.conv1.apply(leakyRelu(x, slope), style);
      h = this.conv2.apply(leakyRelu(h, slope), style);
      const s = this.skip ? this.skip.apply(x) : x;
      return tf.mul(tf.add(s, h), Math.SQRT1_2);
    });
  }

  getConfig(): ModulatedResBlockConfig {
    return { name: this.name, ...this.args };
  }
}

export type ModulatedUpBlockArgs = ModulatedResBlockArgs;
export type ModulatedUpBlockConfig = ModulatedResBlockConfig;

/**
 * Decoder upsampling block (docs/model.md: "nearest ×2 + modulated 3×3 conv"):
 * `out = lrelu(mconv(upsampleNearest2x(x), w))`. Not residual (the spec does not say so).
 */
export class ModulatedUpBlock extends Module {
  static override className = 'ModulatedUpBlock';
  readonly conv: ModulatedConv2D;
  private readonly args: Required<ModulatedUpBlockArgs>;

  constructor(name: string, args: ModulatedUpBlockArgs, rng: Rng) {
    super(name);
    this.args = resolveModulatedArgs(args);
    const a = this.args;
    this.conv = this.addChild(
      new ModulatedConv2D(
        'conv',
        {
          inChannels: a.inChannels,
          filters: a.filters,
          styleDim: a.styleDim,
          kernelSize: 3,
          demodulate: a.demodulate,
          affineLrMultiplier: a.affineLrMultiplier,
        },
        rng,
      ),
    );
  }

  /**
   * - `x`: [N, H, W, inChannels]; `style`: [N, styleDim]
   * - returns: [N, 2H, 2W, filters]; the caller disposes it. No argument is disposed.
   */
  apply(x: tf.Tensor4D, style: tf.Tensor2D): tf.Tensor4D {
    assertShape(x, [null, null, null, this.args.inChannels], `ModulatedUpBlock "${this.name}": x`);
    return tf.tidy(() => leakyRelu(this.conv.apply(upsampleNearest2x(x), style), this.args.slope));
  }

  getConfig(): ModulatedUpBlockConfig {
    return { name: this.name, ...this.args };
  }
}
