import * as tf from '@tensorflow/tfjs';
import { Adam, ageClassificationLoss, createAgeClassifier, type AgeClassifier, type ModelConfig } from '@ragan/core';
import { Rng } from '@ragan/core';
import { createSampler } from '@ragan/data';
import { augmentForClassifier, pgdAttack, type ClassifierAugment } from './augment.js';

export interface ClassifierTrainOptions {
  cacheDir: string;
  config: ModelConfig;
  steps?: number;
  batch?: number;
  lr?: number;
  seed?: number;
  /** Corrupt each training batch (augment.ts); false = clean faces only (the default). */
  augment?: ClassifierAugment | false;
  /**
   * Adversarial training: fit PGD examples within an L∞ ball of `eps` (in [-1, 1] units) found in
   * `steps` steps, instead of the faces themselves. Robust classifiers have gradients that change what a
   * person sees (Santurkar et al. 2019), which is what the generator follows.
   */
  adversarial?: { eps: number; steps: number };
  onStep?: (step: number, total: number, loss: number) => void;
}

export interface ClassifierTrainResult {
  classifier: AgeClassifier;
  /** Share of test-split faces whose group the classifier gets right. */
  testAccuracy: number;
  /** Share within one group of the right one (neighbouring groups are easy to confuse). */
  testAccuracyWithinOne: number;
  testSamples: number;
  /** With `adversarial`: accuracy on PGD examples of the first (up to) 512 test faces. */
  testAdversarialAccuracy?: number;
  finalLoss: number;
}

/**
 * Trains the auxiliary age-group classifier C on real labels (docs/model.md: trained first, then
 * frozen for the age classification loss) and measures it on the test split. The caller owns the
 * returned classifier.
 */
export async function trainClassifier(opts: ClassifierTrainOptions): Promise<ClassifierTrainResult> {
  const steps = opts.steps ?? 300;
  const batch = opts.batch ?? 16;
  const classifier = createAgeClassifier(opts.config, { seed: opts.seed ?? 0 });
  const opt = new Adam(classifier.weights(), { lr: opts.lr ?? 1e-3, beta1: 0.9, beta2: 0.999 });
  const train = await createSampler(opts.cacheDir, { batch, split: 'train', seed: opts.seed ?? 0, flip: true, balanceGroups: true });
  const vars = classifier
    .weights()
    .filter((w) => w.trainable)
    .map((w) => w.variable);
  const rng = new Rng((opts.seed ?? 0) + 7919);
  const numGroups = train.index.groups.labels.length;
  const adv = opts.adversarial;
  if (adv && !(adv.eps > 0 && adv.eps < 1 && Number.isInteger(adv.steps) && adv.steps >= 1))
    throw new RangeError(`adversarial: eps must be in (0, 1) and steps a positive integer, got ${JSON.stringify(adv)}`);
  const lossOf = (y: tf.Tensor2D) => (x: tf.Tensor4D) => ageClassificationLoss(classifier.apply(x), y);
  let finalLoss = NaN;
  try {
    for (let s = 1; s <= steps; s++) {
      const b = await train.next();
      const y = tf.tidy(() => tf.oneHot(tf.tensor1d(b.groups, 'int32'), numGroups).toFloat() as tf.Tensor2D);
      const augmented = opts.augment ? augmentForClassifier(b.images, rng, opts.augment) : b.images;
      const input = adv ? pgdAttack(lossOf(y), augmented, { ...adv, seed: Math.floor(rng.next() * 2 ** 31) }) : augmented;
      const { value, grads } = tf.variableGrads(() => lossOf(y)(input), vars);
      opt.applyGradients(grads);
      finalLoss = value.dataSync()[0]!;
      tf.dispose([value, ...Object.values(grads), y]);
      if (input !== b.images) input.dispose();
      if (augmented !== b.images && augmented !== input) augmented.dispose();
      b.dispose();
      opts.onStep?.(s, steps, finalLoss);
    }
  } finally {
    await train.close();
    opt.dispose();
  }
  // one pass over the test split
  const test = await createSampler(opts.cacheDir, { batch, split: 'test', seed: 0, flip: false, prefetch: 0 });
  let right = 0;
  let near = 0;
  let seen = 0;
  let advRight = 0;
  let advSeen = 0;
  try {
    const n = test.size;
    while (seen < n) {
      const b = await test.next();
      const take = Math.min(b.groups.length, n - seen);
      const pred = tf.tidy(() => tf.argMax(classifier.apply(b.images), 1));
      const p = Array.from(await pred.data());
      pred.dispose();
      for (let i = 0; i < take; i++) {
        if (p[i] === b.groups[i]) right++;
        if (Math.abs(p[i]! - b.groups[i]!) <= 1) near++;
      }
      if (adv && advSeen < 512) {
        const y = tf.tidy(() => tf.oneHot(tf.tensor1d(b.groups, 'int32'), numGroups).toFloat() as tf.Tensor2D);
        const a = pgdAttack(lossOf(y), b.images, { ...adv, seed: advSeen });
        const pa = tf.tidy(() => tf.argMax(classifier.apply(a), 1));
        const q = Array.from(await pa.data());
        tf.dispose([y, a, pa]);
        for (let i = 0; i < take; i++) if (q[i] === b.groups[i]) advRight++;
        advSeen += take;
      }
      seen += take;
      b.dispose();
    }
  } finally {
    await test.close();
  }
  return {
    classifier,
    testAccuracy: seen ? right / seen : NaN,
    testAccuracyWithinOne: seen ? near / seen : NaN,
    testSamples: seen,
    ...(adv ? { testAdversarialAccuracy: advSeen ? advRight / advSeen : NaN } : {}),
    finalLoss,
  };
}
