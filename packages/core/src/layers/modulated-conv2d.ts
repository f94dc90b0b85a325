import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors/index.js';
import { modulatedConv2d, type Padding } from '../ops/modulated-conv2d.js';
import { assertRank, assertShape } from '../ops/shape-checks.js';
import { Dense } from './dense.js';
import { heNormal, Module, zeros } from './module.js';
import type { Rng } from '../random/rng.js';

export interface ModulatedConv2DArgs {
  /** Input channels. Required. */
  inChannels: number;
  /** Output channels. Required. */
  filters: number;
  /** Length of the style vector (f_aw) the affine A maps to per-channel scales. Required. */
  styleDim: number;
  /** Square kernel size. Default 3. */
  kernelSize?: number;
  /** Weight demodulation (StyleGAN2). Default true. */
  demodulate?: boolean;
  /** Demodulation epsilon. Default 1e-8. */
  eps?: number;
  /** Default 'same'. */
  padding?: Padding;
  /** Add a bias after demodulation (initialised at 0). Default true. */
  useBias?: boolean;
  /** Learning-rate multiplier of the affine A (style path). Default 0.01 (docs/model.md, Training). */
  affineLrMultiplier?: number;
}

export type ModulatedConv2DConfig = { name: string } & Required<ModulatedConv2DArgs>;

/**
 * StyleGAN2 modulated convolution: a shared kernel, an affine A (Dense, bias initialised at 1,
 * lr ×0.01) mapping the style to per-sample input-channel scales, demodulation, then a bias.
 * Weights: `kernel` [k, k, inChannels, filters], `affine/kernel` [styleDim, inChannels],
 * `affine/bias` [inChannels], `bias` [filters].
 */
export class ModulatedConv2D extends Module {
  static override className = 'ModulatedConv2D';
  readonly kernel: tf.Variable<tf.Rank.R4>;
  readonly bias: tf.Variable<tf.Rank.R1> | null;
  readonly affine: Dense;
  private readonly args: Required<ModulatedConv2DArgs>;

  constructor(name: string, args: ModulatedConv2DArgs, rng: Rng) {
    super(name);
    this.args = {
      inChannels: args.inChannels,
      filters: args.filters,
      styleDim: args.styleDim,
      kernelSize: args.kernelSize ?? 3,
      demodulate: args.demodulate ?? true,
      eps: args.eps ?? 1e-8,
      padding: args.padding ?? 'same',
      useBias: args.useBias ?? true,
      affineLrMultiplier: args.affineLrMultiplier ?? 0.01,
    };
    const a = this.args;
    for (const f of ['inChannels', 'filters', 'styleDim', 'kernelSize'] as const) {
      if (!Number.isInteger(a[f]) || a[f] < 1) throw new ShapeError(`ModulatedConv2D "${name}": ${f} must be a positive integer, got ${a[f]}`);
    }
    this.kernel = this.addWeight('kernel', [a.kernelSize, a.kernelSize, a.inChannels, a.filters], heNormal(), rng) as tf.Variable<tf.Rank.R4>;
    this.bias = a.useBias ? (this.addWeight('bias', [a.filters], zeros, rng) as tf.Variable<tf.Rank.R1>) : null;
    // gain 1: A is linear; bias 1 so that styles start around 1 (StyleGAN2).
    this.affine = this.addChild(
      new Dense('affine', { inputDim: a.styleDim, units: a.inChannels, biasInit: 1, gain: 1, lrMultiplier: a.affineLrMultiplier }, rng),
    );
  }

  /**
   * - `x`: [N, H, W, inChannels]
   * - `style`: [N, styleDim] (f_aw)
   * - returns: [N, H, W, filters] (for 'same' padding); the caller disposes it. No argument is disposed.
   */
  apply(x: tf.Tensor4D, style: tf.Tensor2D): tf.Tensor4D {
    assertRank(x, 4, `ModulatedConv2D "${this.name}": x`);
    assertShape(style, [x.shape[0], this.args.styleDim], `ModulatedConv2D "${this.name}": style`);
    return tf.tidy(() => {
      const s = this.affine.apply(style);
      const y = modulatedConv2d(x, this.kernel, s, { demodulate: this.args.demodulate, eps: this.args.eps, padding: this.args.padding });
      return this.bias ? tf.add(y, this.bias) : y;
    });
  }

  getConfig(): ModulatedConv2DConfig {
    return { name: this.name, ...this.args };
  }
}
