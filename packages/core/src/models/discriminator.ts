import * as tf from '@tensorflow/tfjs';
import { numGroups, resolveModelConfig, type ModelConfig } from '../config/presets.js';
import { Conv2D } from '../layers/conv2d.js';
import { Dense } from '../layers/dense.js';
import { DiscriminatorBlock } from '../layers/discriminator-block.js';
import { Module } from '../layers/module.js';
import { Rng } from '../random/rng.js';
import { leakyRelu } from '../ops/activations.js';
import { minibatchStddev } from '../ops/minibatch-stddev.js';
import { assertShape } from '../ops/shape-checks.js';
import { doublingChannels, levelsTo4x4 } from './channels.js';

/** Minibatch-stddev group size [ours, StyleGAN2 default]. */
export const MBSTD_GROUP_SIZE = 4;

/**
 * Discriminator D(x) -> [N, K] (docs/model.md): one real/fake logit per age group [paper].
 * [ours] fromRGB 1×1 conv + leaky ReLU, residual downsampling blocks from H to 4×4 (channels from dC0
 * doubling, capped at cMax), minibatch stddev channel, 4×4 valid conv + leaky ReLU, dense to K.
 * Every op has second-order gradients in tfjs (R1). Weights are named `discriminator/...`.
 */
export class Discriminator extends Module {
  static override className = 'Discriminator';
  readonly config: ModelConfig;
  readonly numGroups: number;
  readonly fromRgb: Conv2D;
  readonly blocks: DiscriminatorBlock[] = [];
  readonly finalConv: Conv2D;
  readonly out: Dense;

  constructor(config: ModelConfig, rng: Rng) {
    super('discriminator');
    this.config = { ...config };
    this.numGroups = numGroups(config);
    const levels = levelsTo4x4(config.resolution);
    const ch = doublingChannels(config.dC0, config.cMax, levels);
    this.fromRgb = this.addChild(new Conv2D('from_rgb', { inChannels: 3, filters: ch[0]!, kernelSize: 1 }, rng));
    for (let i = 0; i < levels; i++) {
      this.blocks.push(this.addChild(new DiscriminatorBlock(`b${i}`, { inChannels: ch[i]!, filters: ch[i + 1]!, slope: config.leakySlope }, rng)));
    }
    const c = ch[levels]!;
    this.finalConv = this.addChild(new Conv2D('final_conv', { inChannels: c + 1, filters: c, kernelSize: 4, padding: 'valid' }, rng));
    this.out = this.addChild(new Dense('out', { inputDim: c, units: this.numGroups, gain: 1 }, rng));
  }

  /**
   * - `x`: [N, R, R, 3] in [-1, 1], R = config.resolution
   * - `_opts.training`: no effect (D has no normalisation or dropout); accepted so every model shares a call shape
   * - returns: [N, K] logits; the caller disposes it. `x` is not disposed.
   */
  apply(x: tf.Tensor4D, _opts: { training?: boolean } = {}): tf.Tensor2D {
    const r = this.config.resolution;
    assertShape(x, [null, r, r, 3], 'Discriminator.apply: x');
    const slope = this.config.leakySlope;
    return tf.tidy(() => {
      let h = leakyRelu(this.fromRgb.apply(x), slope);
      for (const b of this.blocks) h = b.apply(h);
      h = minibatchStddev(h, MBSTD_GROUP_SIZE);
      h = leakyRelu(this.finalConv.apply(h), slope); // [N, 1, 1, C]
      return this.out.apply(h.reshape([h.shape[0], h.shape[3]]));
    });
  }

  getConfig(): ModelConfig & Record<string, unknown> {
    return { ...this.config } as ModelConfig & Record<string, unknown>;
  }
}

/** Builds the discriminator (config validated; weights deterministic for `seed`, default 0). The caller disposes it. */
export function createDiscriminator(config: ModelConfig, opts: { seed?: number } = {}): Discriminator {
  return new Discriminator(resolveModelConfig({ ...config }), new Rng(opts.seed ?? 0));
}
