import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors/index.js';
import { conditionalBatchNormWithStats } from '../ops/normalization.js';
import { assertRank } from '../ops/shape-checks.js';
import { Module, ones, zeros } from './module.js';
import type { Rng } from '../random/rng.js';

export interface ConditionalBatchNormArgs {
  /** Feature channels C. Required. */
  channels: number;
  /** Number of classes (age groups) K. Required. */
  numClasses: number;
  /** Added to the variance. Default 1e-5. */
  eps?: number;
  /** Moving-average momentum: moving = momentum·moving + (1 − momentum)·batch. Default 0.99 (Keras). */
  momentum?: number;
}

export type ConditionalBatchNormConfig = { name: string } & Required<ConditionalBatchNormArgs>;

/** Batch moments gathered by training-mode calls since the last update (averaged over the calls). */
export interface BatchStats {
  /** [C]; owned by whoever took it. */
  mean: tf.Tensor1D;
  /** [C] biased batch variance; owned by whoever took it. */
  variance: tf.Tensor1D;
  /** Number of training-mode calls averaged. */
  count: number;
}

/**
 * Conditional batch norm (docs/model.md, Age modulator): batch norm without its own affine, then a
 * per-class scale (`gamma` [K, C], initialised at 1) and shift (`beta` [K, C], at 0) picked, or blended,
 * by group weights. `movingMean` / `movingVariance` [C] are non-trainable weights.
 *
 * Moving statistics are not changed during a forward pass (it usually runs inside tf.variableGrads and
 * the generator is applied several times per step): each training-mode call adds its batch moments to
 * an accumulator that this layer keeps (two tensors, outside any tidy) until `updateMovingStats()`,
 * `takeBatchStats()`, `clearBatchStats()` or `dispose()`.
 */
export class ConditionalBatchNorm extends Module {
  static override className = 'ConditionalBatchNorm';
  readonly gamma: tf.Variable<tf.Rank.R2>;
  readonly beta: tf.Variable<tf.Rank.R2>;
  readonly movingMean: tf.Variable<tf.Rank.R1>;
  readonly movingVariance: tf.Variable<tf.Rank.R1>;
  private readonly args: Required<ConditionalBatchNormArgs>;
  private sumMean: tf.Tensor1D | null = null;
  private sumVariance: tf.Tensor1D | null = null;
  private count = 0;

  constructor(name: string, args: ConditionalBatchNormArgs, rng: Rng) {
    super(name);
    this.args = { channels: args.channels, numClasses: args.numClasses, eps: args.eps ?? 1e-5, momentum: args.momentum ?? 0.99 };
    const a = this.args;
    for (const f of ['channels', 'numClasses'] as const) {
      if (!Number.isInteger(a[f]) || a[f] < 1) throw new ShapeError(`ConditionalBatchNorm "${name}": ${f} must be a positive integer, got ${a[f]}`);
    }
    if (!(a.momentum >= 0 && a.momentum < 1)) throw new ShapeError(`ConditionalBatchNorm "${name}": momentum must be in [0, 1), got ${a.momentum}`);
    this.gamma = this.addWeight('gamma', [a.numClasses, a.channels], ones, rng) as tf.Variable<tf.Rank.R2>;
    this.beta = this.addWeight('beta', [a.numClasses, a.channels], zeros, rng) as tf.Variable<tf.Rank.R2>;
    this.movingMean = this.addWeight('moving_mean', [a.channels], zeros, rng, { trainable: false }) as tf.Variable<tf.Rank.R1>;
    this.movingVariance = this.addWeight('moving_variance', [a.channels], ones, rng, { trainable: false }) as tf.Variable<tf.Rank.R1>;
  }

  /**
   * - `x`: [N, H, W, C]
   * - `groupWeights`: [N, K] one-hot rows, or blends of two neighbouring groups for a continuous age
   * - `opts.training`: normalise with the batch moments and record them (default false: moving stats)
   * - returns: [N, H, W, C]; the caller disposes it. No argument is disposed.
   */
  apply(x: tf.Tensor4D, groupWeights: tf.Tensor2D, opts: { training?: boolean } = {}): tf.Tensor4D {
    assertRank(x, 4, `ConditionalBatchNorm "${this.name}": x`);
    const training = opts.training ?? false;
    return tf.tidy(() => {
      const { output, mean, variance } = conditionalBatchNormWithStats(x, this.gamma, this.beta, groupWeights, {
        training,
        movingMean: this.movingMean,
        movingVar: this.movingVariance,
        eps: this.args.eps,
      });
      if (training) this.accumulate(mean, variance);
      return output;
    });
  }

  private accumulate(mean: tf.Tensor1D, variance: tf.Tensor1D): void {
    const nextMean = tf.keep(this.sumMean ? tf.add(this.sumMean, mean) : mean.clone()) as tf.Tensor1D;
    const nextVariance = tf.keep(this.sumVariance ? tf.add(this.sumVariance, variance) : variance.clone()) as tf.Tensor1D;
    this.sumMean?.dispose();
    this.sumVariance?.dispose();
    this.sumMean = nextMean;
    this.sumVariance = nextVariance;
    this.count++;
  }

  /** Training-mode calls recorded since the last update. */
  get pendingBatchStats(): number {
    return this.count;
  }

  /** Hands over the averaged batch moments recorded so far (the caller disposes them) and resets; null if none. */
  takeBatchStats(): BatchStats | null {
    if (!this.sumMean || !this.sumVariance || this.count === 0) return null;
    const n = this.count;
    const stats = tf.tidy(() => ({ mean: tf.div(this.sumMean!, n) as tf.Tensor1D, variance: tf.div(this.sumVariance!, n) as tf.Tensor1D }));
    this.clearBatchStats();
    return { ...stats, count: n };
  }

  /** Folds the recorded batch moments into the moving statistics (momentum from the args). Returns false if none were recorded. */
  updateMovingStats(): boolean {
    const stats = this.takeBatchStats();
    if (!stats) return false;
    const m = this.args.momentum;
    tf.tidy(() => {
      this.movingMean.assign(tf.add(tf.mul(this.movingMean, m), tf.mul(stats.mean, 1 - m)));
      this.movingVariance.assign(tf.add(tf.mul(this.movingVariance, m), tf.mul(stats.variance, 1 - m)));
    });
    stats.mean.dispose();
    stats.variance.dispose();
    return true;
  }

  /** Drops recorded batch moments without using them. */
  clearBatchStats(): void {
    this.sumMean?.dispose();
    this.sumVariance?.dispose();
    this.sumMean = null;
    this.sumVariance = null;
    this.count = 0;
  }

  override dispose(): void {
    this.clearBatchStats();
    super.dispose();
  }

  getConfig(): ConditionalBatchNormConfig {
    return { name: this.name, ...this.args };
  }
}
