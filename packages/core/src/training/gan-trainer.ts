import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors/index.js';
import type { NamedWeight } from '../layers/module.js';
import { Rng } from '../random/rng.js';
import {
  ageClassificationLoss,
  brightnessLoss,
  chromaLoss,
  cosineIdentityLoss,
  discriminatorAdversarialLoss,
  generatorAdversarialLoss,
  l1Loss,
  r1PenaltyWithLogits,
} from '../losses/index.js';
import { shiftImages } from '../ops/resample.js';
import { Adam, copyWeights, updateEma } from './adam.js';
import { SpikeGuard } from './spike-guard.js';
import { STYLE_LR_MULTIPLIER } from '../models/generator.js';

/** What the trainer needs of a generator (models/generator.ts implements it). */
export interface TrainableGenerator {
  apply(x: tf.Tensor4D, mask: tf.Tensor4D, target: tf.Tensor2D, opts?: { training?: boolean }): tf.Tensor4D;
  encode(x: tf.Tensor4D, mask: tf.Tensor4D, opts?: { training?: boolean }): tf.Tensor4D;
  /**
   * Optional, together: the target-independent half of `apply` (its `fId` must equal `encode`'s output)
   * and `apply` from it. With them, the G step encodes each image batch once instead of once per term.
   */
  encodeImage?(x: tf.Tensor4D, mask: tf.Tensor4D): { fId: tf.Tensor4D };
  applyEncoded?(encoded: { fId: tf.Tensor4D }, target: tf.Tensor2D, opts?: { training?: boolean }): tf.Tensor4D;
  weights(): NamedWeight[];
  /** Folds batch moments recorded by training-mode calls into moving statistics (CBN). */
  updateMovingStats?(): void;
  /** Drops recorded batch moments (a discarded step must not move the statistics). */
  clearBatchStats?(): void;
}

/** What the trainer needs of a discriminator or classifier: logits `[N, K]`. */
export interface Critic {
  apply(x: tf.Tensor4D, opts?: { training?: boolean }): tf.Tensor2D;
  weights(): NamedWeight[];
}

/** Loss weights (docs/model.md "Losses", [ours, from LATS]). */
export interface LossWeights {
  adv: number;
  age: number;
  rec: number;
  cyc: number;
  idFeature: number;
  idNetwork: number;
  /** Colour-cue loss (`chromaLoss` of x' against x in the face mask) [ours]; 0 (off) by default. */
  chroma: number;
  /** Brightness-cue loss (`brightnessLoss` of x' against x in the face mask) [ours]; 0 (off) by default. */
  brightness: number;
}

export const DEFAULT_LOSS_WEIGHTS: Readonly<LossWeights> = { adv: 1, age: 1, rec: 10, cyc: 10, idFeature: 1, idNetwork: 1, chroma: 0, brightness: 0 };

export interface GanTrainerArgs {
  generator: TrainableGenerator;
  discriminator: Critic;
  /** Exponential moving average copy of the generator (same architecture); used for inference. */
  emaGenerator?: TrainableGenerator;
  /** Frozen auxiliary age classifier for the age classification loss (omit to skip that term). */
  classifier?: Critic;
  /** Frozen face embedding `[N,H,W,3] → [N,D]` for the identity-network loss (omit to skip). */
  identityEmbedding?: (x: tf.Tensor4D) => tf.Tensor2D;
  numGroups: number;
  /** Spec: 1e-3. */
  lr?: number;
  /** Spec: (0, 0.99). */
  betas?: [number, number];
  /** Spec: 0.999. */
  emaDecay?: number;
  /**
   * Ramp the EMA decay up from the start [ours, StyleGAN's EMA ramp-up]: after step t the decay is
   * min(emaDecay, (1 + t) / (10 + t)), so the EMA generator follows G in the first thousands of steps
   * instead of staying near the random initialisation (with 0.999, 78 % of the EMA is still the
   * initialisation after 250 steps). Default false.
   */
  emaWarmup?: boolean;
  /** Spec: 10. */
  r1Gamma?: number;
  /** Lazy R1 every this many D steps, scaled by it (StyleGAN2's lazy regularisation). Default 16. */
  r1Every?: number;
  lossWeights?: Partial<LossWeights>;
  /** Seeds the target-group draws. */
  seed?: number;
  /**
   * Shift each generated face by up to this many whole pixels (edges repeated, a fresh draw per image
   * and step) before the frozen classifier sees it, so that the generator cannot tune pixel-exact
   * patterns to the classifier [ours]. Default 0.
   */
  ageShift?: number;
  /**
   * The learning-rate multiplier of G's style path (the weights the model declares with a multiplier of
   * its own: the age modulator's last dense layer and every modulation affine, `STYLE_LR_MULTIPLIER`,
   * 0.01 per the spec). Default: the model's own 0.01.
   */
  styleLrMultiplier?: number;
  /** Copy G's weights into the EMA generator at construction (default true; false when resuming). */
  initEmaFromGenerator?: boolean;
  /**
   * Refuse (discard) a network's update when its largest absolute gradient exceeds this many times its
   * recent typical value (training/spike-guard.ts) [ours]. Default 0: off.
   */
  spikeFactor?: number;
  /**
   * Keep teaching the age classifier while G trains [ours] (off when absent): after each D step, one
   * plain gradient step (learning rate `lr`, no optimizer state, so resume stays exact) on the
   * classifier's cross-entropy for the real images with their own groups plus `fake` × the same for the
   * step's generated faces labelled with their *source* groups. A frozen classifier can be moved by
   * painted cues (black holes for eyes, recoloured regions); one that keeps learning that generated faces
   * are still their source age stops paying for a cue once it has seen it, so G must make changes it
   * cannot tell from real ageing. The classifier sees both halves shifted as in `ageShift`.
   */
  classifierAdapt?: { lr: number; fake: number };
}

export interface TrainBatch {
  /** `[N,H,W,3]` in [-1, 1]. */
  images: tf.Tensor4D;
  /** `[N,H,W,1]`, 1 on the face region. */
  masks: tf.Tensor4D;
  /** Age-group index of each image. */
  groups: readonly number[];
}

export interface StepResult {
  step: number;
  /** Every loss term by name (D and G), as numbers. */
  losses: Record<string, number>;
  /** True when D's or G's update was not applied: a loss or gradient was NaN/Inf, or a gradient spiked. */
  discarded: boolean;
  /** Why, when discarded: `non-finite` wins over `spike`. */
  discardReason?: 'non-finite' | 'spike';
  r1Applied: boolean;
  /**
   * Wall-clock milliseconds per phase, as in the PyTorch twin (`bench/pytorch_twin.py`): the D step
   * (fakes, D losses with R1, gradients, Adam), the G step's forward and backward passes, and G's Adam,
   * moving statistics and EMA. The loss read-backs end each phase, so on asynchronous backends these are
   * honest too.
   */
  phaseMs: { dStep: number; gStepFwdBwd: number; gAdamEma: number };
  /** The largest absolute gradient of D's and of G's weights this step (a blow-up shows here first). */
  gradMax: { d: number; g: number };
}

/** The chroma and brightness losses' blur: 4×4 at 64² and up (an eye is about 8 px wide at 64²), less on the tiny test models. */
const chromaPool = (size: number) => [4, 2].find((p) => size % p === 0 && size >= 16 * p) ?? 1;

const oneHot = (idx: readonly number[], k: number) => tf.tidy(() => tf.oneHot(tf.tensor1d(idx as number[], 'int32'), k).toFloat() as tf.Tensor2D);

/**
 * One readback per phase: the sum of every gradient's absolute values (finite iff all gradients are) and
 * the largest absolute gradient (what a blow-up shows first, before anything is non-finite).
 */
function gradStats(grads: Record<string, tf.Tensor>): { finite: boolean; maxAbs: number } {
  const list = Object.values(grads);
  if (!list.length) return { finite: true, maxAbs: 0 };
  const s = tf.tidy(() => tf.stack([tf.addN(list.map((g) => tf.sum(tf.abs(g)))), tf.max(tf.stack(list.map((g) => tf.max(tf.abs(g)))))]));
  const [sum, max] = s.dataSync();
  s.dispose();
  return { finite: Number.isFinite(sum), maxAbs: max! };
}

/**
 * One RAGAN training iteration: a D step (non-saturating loss, lazy R1 on reals) then a G step
 * (adversarial, age classification, reconstruction, cycle, identity), Adam per the spec, EMA of G.
 * Owns its optimizers; models stay the caller's.
 */
export class GanTrainer {
  readonly numGroups: number;
  readonly weights: LossWeights;
  readonly r1Gamma: number;
  readonly r1Every: number;
  readonly emaDecay: number;
  readonly rng: Rng;
  readonly gOpt: Adam;
  readonly dOpt: Adam;
  /** The gradient-spike guard (its state belongs in checkpoints for exact resume). */
  readonly spikeGuard: SpikeGuard;
  private stepCount = 0;

  constructor(private readonly args: GanTrainerArgs) {
    if (!(args.numGroups >= 2)) throw new ShapeError(`numGroups must be at least 2, got ${args.numGroups}`);
    this.numGroups = args.numGroups;
    this.weights = { ...DEFAULT_LOSS_WEIGHTS, ...args.lossWeights };
    this.r1Gamma = args.r1Gamma ?? 10;
    this.r1Every = args.r1Every ?? 16;
    this.emaDecay = args.emaDecay ?? 0.999;
    this.rng = new Rng(args.seed ?? 1);
    const [beta1, beta2] = args.betas ?? [0, 0.99];
    const lr = args.lr ?? 1e-3;
    const style = args.styleLrMultiplier;
    if (style !== undefined && !(style > 0 && style <= 1)) throw new ShapeError(`styleLrMultiplier must be in (0, 1], got ${style}`);
    // the style path's weights are the ones declared with a multiplier: they take the configured one
    const multiplier = style === undefined ? undefined : (w: NamedWeight) => (w.lrMultiplier === 1 ? 1 : (w.lrMultiplier * style) / STYLE_LR_MULTIPLIER);
    this.gOpt = new Adam(args.generator.weights(), { lr, beta1, beta2, ...(multiplier ? { multiplier } : {}) });
    this.dOpt = new Adam(args.discriminator.weights(), { lr, beta1, beta2 });
    this.spikeGuard = new SpikeGuard({ factor: args.spikeFactor ?? 0 });
    if (args.emaGenerator && args.initEmaFromGenerator !== false) copyWeights(args.emaGenerator.weights(), args.generator.weights());
  }

  get step(): number {
    return this.stepCount;
  }

  set step(value: number) {
    this.stepCount = value;
  }

  /** The EMA decay used by the step after `step` completed steps (see `emaWarmup`). */
  emaDecayAt(step: number): number {
    return this.args.emaWarmup ? Math.min(this.emaDecay, (1 + step) / (10 + step)) : this.emaDecay;
  }

  /** Draws each target group uniformly from the groups other than the image's own. */
  drawTargets(groups: readonly number[]): number[] {
    return groups.map((y) => {
      const r = Math.floor(this.rng.next() * (this.numGroups - 1));
      return r >= y ? r + 1 : r;
    });
  }

  /** Runs one D step and one G step on a batch. Inputs stay the caller's. */
  trainStep(batch: TrainBatch): StepResult {
    const { images, masks, groups } = batch;
    const n = images.shape[0];
    if (groups.length !== n || masks.shape[0] !== n) throw new ShapeError(`batch has ${n} images, ${masks.shape[0]} masks and ${groups.length} group labels`);
    if (groups.some((y) => !Number.isInteger(y) || y < 0 || y >= this.numGroups))
      throw new ShapeError(`group labels must be integers in [0, ${this.numGroups}), got ${groups.join(',')}`);
    const { generator: G, discriminator: D, classifier: C, identityEmbedding: E } = this.args;
    const w = this.weights;
    const targets = this.drawTargets(groups);
    const shift = this.args.ageShift ?? 0;
    const draw = () => Math.min(shift, Math.floor(this.rng.next() * (2 * shift + 1)) - shift);
    const shifts = C && w.age > 0 && shift > 0 ? { dy: groups.map(draw), dx: groups.map(draw) } : undefined;
    const y = oneHot(groups, this.numGroups);
    const yt = oneHot(targets, this.numGroups);
    const losses: Record<string, number> = {};
    const gradMax = { d: NaN, g: NaN };
    const r1Applied = this.r1Gamma > 0 && this.stepCount % this.r1Every === 0;
    let discardReason: StepResult['discardReason'];
    const t0 = performance.now();
    let t1 = t0;
    let t2 = t0;

    try {
      // ---- D step: fake images are constants here (no gradient into G)
      const fake = tf.tidy(() => G.apply(images, masks, yt, { training: true }));
      const dVars = D.weights()
        .filter((p) => p.trainable)
        .map((p) => p.variable);
      const dParts: Record<string, tf.Scalar> = {};
      let realLogits: tf.Tensor2D | undefined;
      let d: { value: tf.Scalar; grads: tf.NamedTensorMap };
      try {
        d = tf.variableGrads(() => {
          // With R1, D runs on the reals once: the R1 gradient's forward pass also gives the adversarial logits.
          let r1: tf.Scalar | undefined;
          if (r1Applied) ({ penalty: r1, logits: realLogits } = r1PenaltyWithLogits((x) => D.apply(x, { training: true }), images, y, this.r1Gamma));
          const adv = discriminatorAdversarialLoss(realLogits ?? D.apply(images, { training: true }), y, D.apply(fake, { training: true }), yt);
          dParts.d_adv = tf.keep(adv.clone());
          let total: tf.Scalar = adv;
          if (r1) {
            dParts.d_r1 = tf.keep(r1.clone());
            total = tf.add(total, tf.mul(r1, this.r1Every));
          }
          return total;
        }, dVars);
      } finally {
        realLogits?.dispose();
      }
      losses.d_total = d.value.dataSync()[0]!;
      for (const [k, v] of Object.entries(dParts)) {
        losses[k] = v.dataSync()[0]!;
        v.dispose();
      }
      const dStats = gradStats(d.grads);
      gradMax.d = dStats.maxAbs;
      if (!(Number.isFinite(losses.d_total) && dStats.finite)) discardReason = 'non-finite';
      else if (!this.spikeGuard.admit(r1Applied ? 'dR1' : 'd', dStats.maxAbs)) discardReason = 'spike';
      else this.dOpt.applyGradients(d.grads);
      d.value.dispose();
      tf.dispose(d.grads);
      if (C && this.args.classifierAdapt && w.age > 0) this.adaptClassifier(C, images, fake, y, shifts, losses);
      fake.dispose();
      t1 = performance.now();

      // ---- G step
      const gVars = G.weights()
        .filter((p) => p.trainable)
        .map((p) => p.variable);
      const gParts: Record<string, tf.Scalar> = {};
      const part = (name: string, weight: number, value: tf.Scalar): tf.Scalar => {
        gParts[name] = tf.keep(value.clone());
        return tf.mul(value, weight);
      };
      const g = tf.variableGrads(() => {
        // The encoder half of G (stem, mask split, Enc) depends on the image only: it runs once for the
        // images and once for x', and serves the aging, reconstruction, cycle and identity-feature
        // terms (same values and gradients as separate G/encode calls; 5 encoder passes become 2).
        // (A generator without encodeImage/applyEncoded gets separate apply/encode calls: same values.)
        const tr = { training: true };
        const shared = typeof G.encodeImage === 'function' && typeof G.applyEncoded === 'function';
        const encodeOnce = (x: tf.Tensor4D) => (shared ? G.encodeImage!(x, masks) : undefined);
        const gOf = (x: tf.Tensor4D, e: { fId: tf.Tensor4D } | undefined, t: tf.Tensor2D) => (e ? G.applyEncoded!(e, t, tr) : G.apply(x, masks, t, tr));
        const fIdOf = (x: tf.Tensor4D, e: { fId: tf.Tensor4D } | undefined) => (e ? e.fId : G.encode(x, masks, tr));
        const onImages = encodeOnce(images);
        const xt = gOf(images, onImages, yt);
        const terms: tf.Scalar[] = [];
        if (w.adv > 0) terms.push(part('g_adv', w.adv, generatorAdversarialLoss(D.apply(xt, { training: true }), yt)));
        if (C && w.age > 0) {
          const seen = shifts ? shiftImages(xt, shifts.dy, shifts.dx) : xt;
          terms.push(part('g_age', w.age, ageClassificationLoss(C.apply(seen, { training: false }), yt)));
        }
        if (w.rec > 0) terms.push(part('g_rec', w.rec, l1Loss(gOf(images, onImages, y), images)));
        if (w.cyc > 0 || w.idFeature > 0) {
          const onFake = encodeOnce(xt);
          if (w.cyc > 0) terms.push(part('g_cyc', w.cyc, l1Loss(gOf(xt, onFake, y), images)));
          if (w.idFeature > 0) terms.push(part('g_id_feature', w.idFeature, l1Loss(fIdOf(xt, onFake), fIdOf(images, onImages))));
        }
        if (E && w.idNetwork > 0) terms.push(part('g_id_network', w.idNetwork, cosineIdentityLoss(E(xt), E(images))));
        if (w.chroma > 0) terms.push(part('g_chroma', w.chroma, chromaLoss(xt, images, masks, chromaPool(images.shape[1]))));
        if (w.brightness > 0) terms.push(part('g_brightness', w.brightness, brightnessLoss(xt, images, masks, chromaPool(images.shape[1]))));
        return terms.length ? (tf.addN(terms) as tf.Scalar) : tf.scalar(0);
      }, gVars);
      losses.g_total = g.value.dataSync()[0]!;
      for (const [k, v] of Object.entries(gParts)) {
        losses[k] = v.dataSync()[0]!;
        v.dispose();
      }
      t2 = performance.now();
      const gStats = gradStats(g.grads);
      gradMax.g = gStats.maxAbs;
      const gFinite = Number.isFinite(losses.g_total) && gStats.finite;
      if (gFinite && this.spikeGuard.admit('g', gStats.maxAbs)) {
        this.gOpt.applyGradients(g.grads);
        G.updateMovingStats?.();
        if (this.args.emaGenerator) updateEma(this.args.emaGenerator.weights(), G.weights(), this.emaDecayAt(this.stepCount));
      } else {
        if (!gFinite) discardReason = 'non-finite';
        else discardReason ??= 'spike';
        G.clearBatchStats?.();
      }
      g.value.dispose();
      tf.dispose(g.grads);
    } finally {
      y.dispose();
      yt.dispose();
    }
    this.stepCount += 1;
    const t3 = performance.now();
    const phaseMs = { dStep: t1 - t0, gStepFwdBwd: t2 - t1, gAdamEma: t3 - t2 };
    return { step: this.stepCount, losses, discarded: discardReason !== undefined, ...(discardReason ? { discardReason } : {}), r1Applied, phaseMs, gradMax };
  }

  /**
   * One plain gradient step of the classifier (`classifierAdapt`): real images with their groups, the
   * step's fakes with their source groups. Reports `c_real` and `c_fake`; a non-finite loss or gradient
   * leaves the classifier as it was.
   */
  private adaptClassifier(
    C: Critic,
    images: tf.Tensor4D,
    fake: tf.Tensor4D,
    y: tf.Tensor2D,
    shifts: { dy: number[]; dx: number[] } | undefined,
    losses: Record<string, number>,
  ): void {
    const { lr, fake: fakeWeight } = this.args.classifierAdapt!;
    const vars = C.weights()
      .filter((p) => p.trainable)
      .map((p) => p.variable);
    const parts: tf.Scalar[] = [];
    const c = tf.variableGrads(() => {
      const seen = (x: tf.Tensor4D) => (shifts ? shiftImages(x, shifts.dy, shifts.dx) : x);
      const real = ageClassificationLoss(C.apply(seen(images), { training: false }), y);
      const onFake = ageClassificationLoss(C.apply(seen(fake), { training: false }), y);
      parts.push(tf.keep(real.clone()), tf.keep(onFake.clone()));
      return tf.add(real, tf.mul(onFake, fakeWeight)) as tf.Scalar;
    }, vars);
    try {
      const [real, onFake] = parts.map((t) => t.dataSync()[0]!);
      losses.c_real = real!;
      losses.c_fake = onFake!;
      if (!(Number.isFinite(c.value.dataSync()[0]!) && gradStats(c.grads).finite)) return;
      tf.tidy(() => {
        for (const v of vars) v.assign(tf.sub(v, tf.mul(c.grads[v.name]!, lr)));
      });
    } finally {
      tf.dispose(parts);
      c.value.dispose();
      tf.dispose(c.grads);
    }
  }

  dispose(): void {
    this.gOpt.dispose();
    this.dOpt.dispose();
  }
}
