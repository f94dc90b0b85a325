import * as tf from '@tensorflow/tfjs';
import { numGroups, resolveModelConfig, type ModelConfig } from '../config/presets.js';
import { ShapeError } from '../errors/index.js';
import { ConditionalBatchNorm } from '../layers/conditional-batch-norm.js';
import { Conv2D } from '../layers/conv2d.js';
import { Dense } from '../layers/dense.js';
import { Module } from '../layers/module.js';
import { Rng } from '../random/rng.js';
import { ModulatedResBlock, ModulatedUpBlock } from '../layers/modulated-res-block.js';
import { ResBlock } from '../layers/res-block.js';
import { leakyRelu } from '../ops/activations.js';
import { globalAvgPool } from '../ops/resample.js';
import { assertShape, describeShape } from '../ops/shape-checks.js';
import { generatorChannels } from './channels.js';

/** Learning-rate multiplier of the style path's dense layers (docs/model.md, Training [ours]). */
export const STYLE_LR_MULTIPLIER = 0.01;

export interface GeneratorApplyOptions {
  /** Conditional batch norm of the age modulator uses (and records) batch moments. Default false. */
  training?: boolean;
}

/**
 * Identity encoder Enc [paper; sizes ours]: stem (k×k conv to c0 + leaky ReLU) giving F0 at full
 * resolution, then `nDown` stride-2 pre-activation residual blocks (channels doubling, capped at
 * cMax) and `nIdBlocks` residual blocks at the bottleneck, all with pixel norm.
 */
export class IdentityEncoder extends Module {
  static override className = 'IdentityEncoder';
  readonly stem: Conv2D;
  readonly blocks: ResBlock[] = [];
  private readonly slope: number;
  private readonly maskEveryBlock: boolean;

  constructor(config: ModelConfig, rng: Rng, name = 'enc') {
    super(name);
    const ch = generatorChannels(config);
    this.slope = config.leakySlope;
    this.maskEveryBlock = config.encoderMask === 'every-block';
    this.stem = this.addChild(new Conv2D('stem', { inChannels: 3, filters: config.c0, kernelSize: config.stemKernel, padding: 'same' }, rng));
    for (let i = 0; i < config.nDown; i++) {
      this.blocks.push(this.addChild(new ResBlock(`down${i}`, { inChannels: ch[i]!, filters: ch[i + 1]!, down: true, slope: config.leakySlope }, rng)));
    }
    const cb = ch[config.nDown]!;
    for (let i = 0; i < config.nIdBlocks; i++) {
      this.blocks.push(this.addChild(new ResBlock(`id${i}`, { inChannels: cb, filters: cb, slope: config.leakySlope }, rng)));
    }
  }

  /** x: [N, H, W, 3] -> F0 [N, H, W, c0]; the caller disposes the result, x is not disposed. */
  stemFeatures(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => leakyRelu(this.stem.apply(x), this.slope));
  }

  /**
   * fFace = F0·m: [N, H, W, c0] -> f_id [N, H/2^nDown, W/2^nDown, cBottleneck]; the caller disposes the
   * result. `m` [N, H, W, 1] (F0's size) is needed with `encoderMask: 'every-block'`: each block's output
   * is multiplied by m average-pooled to its size.
   */
  fromFaceFeatures(fFace: tf.Tensor4D, m?: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      if (!this.maskEveryBlock) return this.blocks.reduce<tf.Tensor4D>((h, b) => b.apply(h), fFace);
      if (!m) throw new ShapeError('IdentityEncoder.fromFaceFeatures: encoderMask "every-block" needs the mask');
      let mask = m;
      let h = fFace;
      for (const b of this.blocks) {
        h = b.apply(h);
        while (mask.shape[1] > h.shape[1]) mask = tf.avgPool(mask, 2, 2, 'valid');
        h = tf.mul(h, mask);
      }
      return h;
    });
  }

  getConfig(): Record<string, unknown> {
    return { name: this.name };
  }
}

/** One age-modulator block: 3×3 stride-2 conv (no bias: CBN follows), CBN on the target, leaky ReLU. */
export class AgeModulatorBlock extends Module {
  static override className = 'AgeModulatorBlock';
  readonly conv: Conv2D;
  readonly cbn: ConditionalBatchNorm;
  private readonly slope: number;

  constructor(name: string, args: { inChannels: number; filters: number; numClasses: number; slope: number }, rng: Rng) {
    super(name);
    this.slope = args.slope;
    this.conv = this.addChild(
      new Conv2D('conv', { inChannels: args.inChannels, filters: args.filters, kernelSize: 3, strides: 2, padding: 1, useBias: false }, rng),
    );
    this.cbn = this.addChild(new ConditionalBatchNorm('cbn', { channels: args.filters, numClasses: args.numClasses }, rng));
  }

  /** x [N, H, W, Cin], target [N, K] -> [N, H/2, W/2, Cout]; the caller disposes the result. */
  apply(x: tf.Tensor4D, target: tf.Tensor2D, opts: GeneratorApplyOptions = {}): tf.Tensor4D {
    return tf.tidy(() => leakyRelu(this.cbn.apply(this.conv.apply(x), target, opts), this.slope));
  }

  getConfig(): Record<string, unknown> {
    return { name: this.name };
  }
}

/**
 * Age modulator AM(f_id, y') [paper; sizes ours]: `nAmDown` (3×3 stride-2 conv, CBN, leaky ReLU) blocks
 * with channels doubling from the bottleneck's (capped at cMax), global average pooling, and a dense
 * layer (lr ×0.01) to the style f_aw of length styleDim.
 */
export class AgeModulator extends Module {
  static override className = 'AgeModulator';
  readonly blocks: AgeModulatorBlock[] = [];
  readonly style: Dense;

  constructor(config: ModelConfig, rng: Rng, name = 'am') {
    super(name);
    const k = numGroups(config);
    let c = generatorChannels(config)[config.nDown]!;
    for (let i = 0; i < config.nAmDown; i++) {
      const next = Math.min(2 * c, config.cMax);
      this.blocks.push(this.addChild(new AgeModulatorBlock(`down${i}`, { inChannels: c, filters: next, numClasses: k, slope: config.leakySlope }, rng)));
      c = next;
    }
    // Linear output (gain 1); style path: lr ×0.01.
    this.style = this.addChild(new Dense('style', { inputDim: c, units: config.styleDim, gain: 1, lrMultiplier: STYLE_LR_MULTIPLIER }, rng));
  }

  /** fId [N, h, w, C], target [N, K] -> f_aw [N, styleDim]; the caller disposes the result. */
  apply(fId: tf.Tensor4D, target: tf.Tensor2D, opts: GeneratorApplyOptions = {}): tf.Tensor2D {
    return tf.tidy(() => {
      const h = this.blocks.reduce<tf.Tensor4D>((acc, b) => b.apply(acc, target, opts), fId);
      return this.style.apply(globalAvgPool(h));
    });
  }

  getConfig(): Record<string, unknown> {
    return { name: this.name };
  }
}

/**
 * Decoder Dec [paper; sizes ours]: `nDecBlocks` modulated residual blocks at the bottleneck, then
 * `nDown` (nearest ×2 + modulated 3×3 conv + leaky ReLU) blocks back to c0 at full resolution.
 */
export class Decoder extends Module {
  static override className = 'Decoder';
  readonly resBlocks: ModulatedResBlock[] = [];
  readonly upBlocks: ModulatedUpBlock[] = [];

  constructor(config: ModelConfig, rng: Rng, name = 'dec') {
    super(name);
    const ch = generatorChannels(config);
    const common = { styleDim: config.styleDim, slope: config.leakySlope, affineLrMultiplier: STYLE_LR_MULTIPLIER };
    const cb = ch[config.nDown]!;
    for (let i = 0; i < config.nDecBlocks; i++) {
      this.resBlocks.push(this.addChild(new ModulatedResBlock(`res${i}`, { ...common, inChannels: cb, filters: cb }, rng)));
    }
    for (let i = 0; i < config.nDown; i++) {
      const level = config.nDown - i;
      this.upBlocks.push(this.addChild(new ModulatedUpBlock(`up${i}`, { ...common, inChannels: ch[level]!, filters: ch[level - 1]! }, rng)));
    }
  }

  /** fId [N, h, w, Cb], style [N, styleDim] -> Fdec [N, h·2^nDown, w·2^nDown, c0]; the caller disposes the result. */
  apply(fId: tf.Tensor4D, style: tf.Tensor2D): tf.Tensor4D {
    return tf.tidy(() => {
      let h = this.resBlocks.reduce<tf.Tensor4D>((acc, b) => b.apply(acc, style), fId);
      h = this.upBlocks.reduce<tf.Tensor4D>((acc, b) => b.apply(acc, style), h);
      return h;
    });
  }

  getConfig(): Record<string, unknown> {
    return { name: this.name };
  }
}

/**
 * RAGAN generator G(x, m, y') -> x' (docs/model.md, Generator). Weights are named
 * `generator/enc/...`, `generator/am/...`, `generator/dec/...`, `generator/to_rgb/...`.
 * Build it with createGenerator().
 */
export class Generator extends Module {
  static override className = 'Generator';
  readonly config: ModelConfig;
  readonly numGroups: number;
  readonly encoder: IdentityEncoder;
  readonly ageModulator: AgeModulator;
  readonly decoder: Decoder;
  readonly toRgb: Conv2D;

  constructor(config: ModelConfig, rng: Rng, name = 'generator') {
    super(name);
    this.config = { ...config };
    this.numGroups = numGroups(config);
    this.encoder = this.addChild(new IdentityEncoder(config, rng));
    this.ageModulator = this.addChild(new AgeModulator(config, rng));
    this.decoder = this.addChild(new Decoder(config, rng));
    this.toRgb = this.addChild(new Conv2D('to_rgb', { inChannels: config.c0, filters: 3, kernelSize: 1, gain: 1 }, rng));
  }

  private checkImage(x: tf.Tensor4D, what: string): void {
    assertShape(x, [null, null, null, 3], `Generator.${what}: x`);
    const f = 2 ** this.config.nDown;
    if (x.shape[1] % f !== 0 || x.shape[2] % f !== 0) {
      throw new ShapeError(`Generator.${what}: height and width must be divisible by 2^nDown = ${f}, got x ${describeShape(x)}`);
    }
  }

  /** The mask at F0's size (full resolution): as given, or bilinearly resized when its size differs. */
  private checkMask(mask: tf.Tensor4D, x: tf.Tensor4D, what: string): void {
    assertShape(mask, [x.shape[0], null, null, 1], `Generator.${what}: mask`);
  }

  /** Call inside a tidy: the resized mask is a new tensor. */
  private maskAtFeatureSize(mask: tf.Tensor4D, x: tf.Tensor4D): tf.Tensor4D {
    const [, h, w] = x.shape;
    return mask.shape[1] === h && mask.shape[2] === w ? mask : tf.image.resizeBilinear(mask, [h, w]);
  }

  private checkTarget(target: tf.Tensor2D, n: number, what: string): void {
    assertShape(target, [n, this.numGroups], `Generator.${what}: target`);
  }

  /**
   * G(x, m, y'): stem → F0; Fface = F0·m, Fbg = F0·(1 − m); Enc(Fface) = f_id; f_aw = AM(f_id, y');
   * Fdec = Dec(f_id, f_aw); Fout = Fdec·m + Fbg·(1 − m); tanh(1×1 conv(Fout)).
   *
   * - `x`: [N, H, W, 3] in [-1, 1], H and W divisible by 2^nDown
   * - `mask`: [N, H', W', 1] face region in [0, 1] (resized to H×W when H'×W' differs)
   * - `target`: [N, K] group weights (groupTarget() one-hot, or ageTarget() blends)
   * - returns: [N, H, W, 3] in [-1, 1]; the caller disposes it. No argument is disposed.
   * In training mode the CBN layers record batch moments; call updateMovingStats() after the step.
   */
  apply(x: tf.Tensor4D, mask: tf.Tensor4D, target: tf.Tensor2D, opts: GeneratorApplyOptions = {}): tf.Tensor4D {
    this.checkImage(x, 'apply');
    this.checkMask(mask, x, 'apply');
    this.checkTarget(target, x.shape[0], 'apply');
    return tf.tidy(() => this.decodeParts(this.encodeParts(x, mask), target, opts));
  }

  /**
   * The target-independent half of G(x, m, ·): f_id, the background features and the mask, for
   * `applyEncoded` with several targets. Training computes them once per image batch instead of once per
   * pass (the G step ages, reconstructs and measures identity features on the same images), which
   * gives the same values and gradients with fewer convolutions. The caller disposes the result
   * (`disposeEncoded`); no argument is disposed.
   */
  encodeImage(x: tf.Tensor4D, mask: tf.Tensor4D): EncodedImage {
    this.checkImage(x, 'encodeImage');
    this.checkMask(mask, x, 'encodeImage');
    const parts = tf.tidy(() => {
      const e = this.encodeParts(x, mask);
      // a clone (shared memory), so that disposeEncoded never disposes the caller's mask
      return [e.fId, e.fBg, e.m === mask ? tf.clone(mask) : e.m, e.inv] as const;
    });
    return { fId: parts[0], fBg: parts[1], m: parts[2], inv: parts[3] };
  }

  /** G for one target from `encodeImage`'s parts: the same output as `apply(x, mask, target)`. */
  applyEncoded(e: EncodedImage, target: tf.Tensor2D, opts: GeneratorApplyOptions = {}): tf.Tensor4D {
    this.checkTarget(target, e.fId.shape[0], 'applyEncoded');
    return tf.tidy(() => this.decodeParts(e, target, opts));
  }

  /** Call inside a tidy. */
  private encodeParts(x: tf.Tensor4D, mask: tf.Tensor4D): EncodedImage {
    const m = this.maskAtFeatureSize(mask, x);
    const inv = tf.sub(1, m) as tf.Tensor4D;
    const f0 = this.encoder.stemFeatures(x);
    const fId = this.encoder.fromFaceFeatures(tf.mul(f0, m), m);
    const fBg = tf.mul(f0, inv) as tf.Tensor4D;
    return { fId, fBg, m, inv };
  }

  /** Call inside a tidy. */
  private decodeParts(e: EncodedImage, target: tf.Tensor2D, opts: GeneratorApplyOptions): tf.Tensor4D {
    const style = this.ageModulator.apply(e.fId, target, opts);
    const fDec = this.decoder.apply(e.fId, style);
    const fOut = tf.add(tf.mul(fDec, e.m), tf.mul(e.fBg, e.inv)) as tf.Tensor4D;
    return tf.tanh(this.toRgb.apply(fOut));
  }

  /**
   * Enc(x, m) = f_id, the spatial identity features (used by the identity feature loss).
   * - `x`: [N, H, W, 3]; `mask`: [N, H', W', 1]
   * - `_opts.training`: no effect (the encoder uses pixel norm, which has no batch statistics)
   * - returns: [N, H/2^nDown, W/2^nDown, min(c0·2^nDown, cMax)]; the caller disposes it.
   */
  encode(x: tf.Tensor4D, mask: tf.Tensor4D, _opts: GeneratorApplyOptions = {}): tf.Tensor4D {
    this.checkImage(x, 'encode');
    this.checkMask(mask, x, 'encode');
    return tf.tidy(() => {
      const m = this.maskAtFeatureSize(mask, x);
      return this.encoder.fromFaceFeatures(tf.mul(this.encoder.stemFeatures(x), m), m);
    });
  }

  /**
   * AM(f_id, y') = f_aw.
   * - `fId`: [N, h, w, Cb] from encode(); `target`: [N, K]
   * - returns: [N, styleDim]; the caller disposes it. No argument is disposed.
   */
  ageStyle(fId: tf.Tensor4D, target: tf.Tensor2D, opts: GeneratorApplyOptions = {}): tf.Tensor2D {
    assertShape(fId, [null, null, null, generatorChannels(this.config)[this.config.nDown]!], 'Generator.ageStyle: fId');
    this.checkTarget(target, fId.shape[0], 'ageStyle');
    return this.ageModulator.apply(fId, target, opts);
  }

  /** The conditional batch-norm layers of the age modulator. */
  batchNormLayers(): ConditionalBatchNorm[] {
    return this.ageModulator.blocks.map((b) => b.cbn);
  }

  /** Folds the batch moments recorded by training-mode calls into the moving statistics of every CBN. */
  updateMovingStats(): void {
    for (const l of this.batchNormLayers()) l.updateMovingStats();
  }

  /** Drops recorded batch moments (e.g. after a training-mode call whose statistics should not count). */
  clearBatchStats(): void {
    for (const l of this.batchNormLayers()) l.clearBatchStats();
  }

  getConfig(): ModelConfig & Record<string, unknown> {
    return { ...this.config } as ModelConfig & Record<string, unknown>;
  }
}

/** What `Generator.encodeImage` returns: f_id (also Enc(x, m)), F0·(1 − m), m at F0's size, 1 − m. */
export interface EncodedImage {
  fId: tf.Tensor4D;
  fBg: tf.Tensor4D;
  m: tf.Tensor4D;
  inv: tf.Tensor4D;
}

/** Disposes what `Generator.encodeImage` returned (never the caller's mask: `m` is its own tensor). */
export function disposeEncoded(e: EncodedImage): void {
  tf.dispose([e.fId, e.fBg, e.m, e.inv]);
}

/**
 * Builds the generator for a model config (validated with resolveModelConfig). Weights are
 * deterministic for a seed (default 0). `name` prefixes the weight names (default `generator`; the
 * EMA copy in a training checkpoint is `ema_generator`). The caller owns the model and calls dispose().
 */
export function createGenerator(config: ModelConfig, opts: { seed?: number; name?: string } = {}): Generator {
  return new Generator(resolveModelConfig({ ...config }), new Rng(opts.seed ?? 0), opts.name);
}
