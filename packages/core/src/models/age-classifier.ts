import * as tf from '@tensorflow/tfjs';
import { numGroups, resolveModelConfig, type ModelConfig } from '../config/presets.js';
import { ShapeError } from '../errors/index.js';
import { Conv2D } from '../layers/conv2d.js';
import { Dense } from '../layers/dense.js';
import { Module } from '../layers/module.js';
import { Rng } from '../random/rng.js';
import { leakyRelu } from '../ops/activations.js';
import { downsampleAvg2x, globalAvgPool } from '../ops/resample.js';
import { assertShape, describeShape } from '../ops/shape-checks.js';
import { doublingChannels, levelsTo4x4 } from './channels.js';

/**
 * Auxiliary age classifier C(x) -> [N, K] logits [ours] (docs/model.md): a 3×3 stem conv to clsC0,
 * 3×3 stride-2 convs from H to 4×4 with channels doubling (capped at cMax), leaky ReLU after each,
 * global average pooling, dense to K. Weights are named `age_classifier/...`.
 *
 * With `clsArch: 'robust'` each level is instead 3×3 conv (same width), 2×2 average pool, 3×3 conv
 * to the next width: no strided convolution, whose aliasing lets a generator fool the classifier with
 * thin stripes (docs/training-notes.md).
 *
 * Its input side is `clsResolution` (absent = `resolution`) and its channels are capped at `clsCMax`
 * (absent = `cMax`). Faces of the model's `resolution` are average-pooled to `clsResolution` first.
 */
export class AgeClassifier extends Module {
  static override className = 'AgeClassifier';
  readonly config: ModelConfig;
  readonly numGroups: number;
  readonly stem: Conv2D;
  readonly convs: Conv2D[] = [];
  /** `robust` only: the same-width conv before each level's pooling. */
  readonly pre: Conv2D[] = [];
  readonly robust: boolean;
  readonly out: Dense;
  /** The side the classifier reads (`clsResolution`, else `resolution`). */
  readonly inputSize: number;

  constructor(config: ModelConfig, rng: Rng) {
    super('age_classifier');
    this.config = { ...config };
    this.numGroups = numGroups(config);
    this.inputSize = config.clsResolution ?? config.resolution;
    const levels = levelsTo4x4(this.inputSize);
    const ch = doublingChannels(config.clsC0, config.clsCMax ?? config.cMax, levels);
    this.robust = config.clsArch === 'robust';
    this.stem = this.addChild(new Conv2D('stem', { inChannels: 3, filters: ch[0]!, kernelSize: 3 }, rng));
    for (let i = 0; i < levels; i++) {
      if (this.robust) {
        this.pre.push(this.addChild(new Conv2D(`pre${i}`, { inChannels: ch[i]!, filters: ch[i]!, kernelSize: 3 }, rng)));
        this.convs.push(this.addChild(new Conv2D(`down${i}`, { inChannels: ch[i]!, filters: ch[i + 1]!, kernelSize: 3 }, rng)));
      } else {
        this.convs.push(this.addChild(new Conv2D(`down${i}`, { inChannels: ch[i]!, filters: ch[i + 1]!, kernelSize: 3, strides: 2, padding: 1 }, rng)));
      }
    }
    this.out = this.addChild(new Dense('out', { inputDim: ch[levels]!, units: this.numGroups, gain: 1 }, rng));
  }

  /**
   * - `x`: [N, H, W, 3] in [-1, 1], H and W divisible by 2^(log2(inputSize/4)). When `clsResolution` is
   *   below `resolution`, faces of the model's side (H = W = resolution) are average-pooled to `inputSize`
   *   first; other sides are read as they are.
   * - `_opts.training`: no effect (no normalisation or dropout); accepted so every model shares a call shape
   * - returns: [N, K] logits; the caller disposes it. `x` is not disposed.
   */
  apply(x: tf.Tensor4D, _opts: { training?: boolean } = {}): tf.Tensor2D {
    assertShape(x, [null, null, null, 3], 'AgeClassifier.apply: x');
    const f = 2 ** this.convs.length;
    if (x.shape[1] % f !== 0 || x.shape[2] % f !== 0)
      throw new ShapeError(`AgeClassifier.apply: height and width must be divisible by ${f}, got x ${describeShape(x)}`);
    const slope = this.config.leakySlope;
    const pool = this.config.resolution / this.inputSize;
    const pooled = pool > 1 && x.shape[1] === this.config.resolution && x.shape[2] === this.config.resolution;
    return tf.tidy(() => {
      let input = x;
      for (let k = pool; pooled && k > 1; k /= 2) input = downsampleAvg2x(input);
      let h = leakyRelu(this.stem.apply(input), slope);
      this.convs.forEach((c, i) => {
        if (this.robust) h = leakyRelu(c.apply(downsampleAvg2x(leakyRelu(this.pre[i]!.apply(h), slope))), slope);
        else h = leakyRelu(c.apply(h), slope);
      });
      return this.out.apply(globalAvgPool(h));
    });
  }

  getConfig(): ModelConfig & Record<string, unknown> {
    return { ...this.config } as ModelConfig & Record<string, unknown>;
  }
}

/** Builds the age classifier (config validated; weights deterministic for `seed`, default 0). The caller disposes it. */
export function createAgeClassifier(config: ModelConfig, opts: { seed?: number } = {}): AgeClassifier {
  return new AgeClassifier(resolveModelConfig({ ...config }), new Rng(opts.seed ?? 0));
}
