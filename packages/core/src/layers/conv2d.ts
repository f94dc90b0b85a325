import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors/index.js';
import type { Padding } from '../ops/modulated-conv2d.js';
import { assertRank } from '../ops/shape-checks.js';
import { heNormal, Module, zeros } from './module.js';
import type { Rng } from '../random/rng.js';

export interface Conv2DArgs {
  /** Input channels. Required. */
  inChannels: number;
  /** Output channels. Required. */
  filters: number;
  /** Square kernel size. Default 3. */
  kernelSize?: number;
  /** Stride in both directions. Default 1. */
  strides?: number;
  /** 'same', 'valid' or a symmetric pixel count. Default 'same'. With stride 2 and an even input, 1 keeps each output centred on an input pixel. */
  padding?: Padding;
  /** Add a bias (initialised at 0). Default true. */
  useBias?: boolean;
  /** He-normal gain of the kernel: std = gain / sqrt(k·k·inChannels). Default √2 (leaky-ReLU nets); 1 for a linear output. */
  gain?: number;
  /** Learning-rate multiplier of kernel and bias (NamedWeight.lrMultiplier). Default 1. */
  lrMultiplier?: number;
}

export type Conv2DConfig = { name: string } & Required<Conv2DArgs>;

/** 2-D convolution with bias, He-initialised. x [N, H, W, inChannels] -> [N, H', W', filters]. */
export class Conv2D extends Module {
  static override className = 'Conv2D';
  readonly kernel: tf.Variable<tf.Rank.R4>;
  readonly bias: tf.Variable<tf.Rank.R1> | null;
  private readonly args: Required<Conv2DArgs>;

  constructor(name: string, args: Conv2DArgs, rng: Rng) {
    super(name);
    this.args = {
      inChannels: args.inChannels,
      filters: args.filters,
      kernelSize: args.kernelSize ?? 3,
      strides: args.strides ?? 1,
      padding: args.padding ?? 'same',
      useBias: args.useBias ?? true,
      gain: args.gain ?? Math.SQRT2,
      lrMultiplier: args.lrMultiplier ?? 1,
    };
    const a = this.args;
    for (const f of ['inChannels', 'filters', 'kernelSize', 'strides'] as const) {
      if (!Number.isInteger(a[f]) || a[f] < 1) throw new ShapeError(`Conv2D "${name}": ${f} must be a positive integer, got ${a[f]}`);
    }
    const opts = { lrMultiplier: a.lrMultiplier };
    this.kernel = this.addWeight('kernel', [a.kernelSize, a.kernelSize, a.inChannels, a.filters], heNormal(a.gain), rng, opts) as tf.Variable<tf.Rank.R4>;
    this.bias = a.useBias ? (this.addWeight('bias', [a.filters], zeros, rng, opts) as tf.Variable<tf.Rank.R1>) : null;
  }

  /** x: [N, H, W, inChannels] -> [N, H', W', filters]; the caller disposes the result, x is not disposed. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    assertRank(x, 4, `Conv2D "${this.name}": x`);
    if (x.shape[3] !== this.args.inChannels)
      throw new ShapeError(`Conv2D "${this.name}": expected ${this.args.inChannels} input channels, got shape [${x.shape.join(', ')}]`);
    return tf.tidy(() => {
      const y = tf.conv2d(x, this.kernel, this.args.strides, this.args.padding);
      return this.bias ? tf.add(y, this.bias) : y;
    });
  }

  getConfig(): Conv2DConfig {
    return { name: this.name, ...this.args };
  }
}
