import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors/index.js';
import { assertShape } from '../ops/shape-checks.js';
import { constant, heNormal, Module } from './module.js';
import type { Rng } from '../random/rng.js';

export interface DenseArgs {
  /** Input features. Required. */
  inputDim: number;
  /** Output features. Required. */
  units: number;
  /** Add a bias. Default true. */
  useBias?: boolean;
  /** Initial value of every bias entry. Default 0; the modulation affine A uses 1 so that styles start near 1. */
  biasInit?: number;
  /** He-normal gain of the kernel: std = gain / sqrt(inputDim). Default √2; 1 for a linear output. */
  gain?: number;
  /** Learning-rate multiplier of kernel and bias (NamedWeight.lrMultiplier); the style path uses 0.01. Default 1. */
  lrMultiplier?: number;
}

export type DenseConfig = { name: string } & Required<DenseArgs>;

/** Fully connected layer. x [N, inputDim] -> [N, units]. */
export class Dense extends Module {
  static override className = 'Dense';
  readonly kernel: tf.Variable<tf.Rank.R2>;
  readonly bias: tf.Variable<tf.Rank.R1> | null;
  private readonly args: Required<DenseArgs>;

  constructor(name: string, args: DenseArgs, rng: Rng) {
    super(name);
    this.args = {
      inputDim: args.inputDim,
      units: args.units,
      useBias: args.useBias ?? true,
      biasInit: args.biasInit ?? 0,
      gain: args.gain ?? Math.SQRT2,
      lrMultiplier: args.lrMultiplier ?? 1,
    };
    const a = this.args;
    for (const f of ['inputDim', 'units'] as const) {
      if (!Number.isInteger(a[f]) || a[f] < 1) throw new ShapeError(`Dense "${name}": ${f} must be a positive integer, got ${a[f]}`);
    }
    const opts = { lrMultiplier: a.lrMultiplier };
    this.kernel = this.addWeight('kernel', [a.inputDim, a.units], heNormal(a.gain), rng, opts) as tf.Variable<tf.Rank.R2>;
    this.bias = a.useBias ? (this.addWeight('bias', [a.units], constant(a.biasInit), rng, opts) as tf.Variable<tf.Rank.R1>) : null;
  }

  /** x: [N, inputDim] -> [N, units]; the caller disposes the result, x is not disposed. */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    assertShape(x, [null, this.args.inputDim], `Dense "${this.name}": x`);
    return tf.tidy((): tf.Tensor2D => {
      const y = tf.matMul(x, this.kernel) as tf.Tensor2D;
      return this.bias ? (tf.add(y, this.bias) as tf.Tensor2D) : y;
    });
  }

  getConfig(): DenseConfig {
    return { name: this.name, ...this.args };
  }
}
