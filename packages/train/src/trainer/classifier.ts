import * as tf from '@tensorflow/tfjs';
import { Adam, ageClassificationLoss, createAgeClassifier, type AgeClassifier, type ModelConfig } from '@ragan/core';
import { createSampler } from '@ragan/data';

export interface ClassifierTrainOptions {
  cacheDir: string;
  config: ModelConfig;
  steps?: number;
  batch?: number;
  lr?: number;
  seed?: number;
  onStep?: (step: number, total: number, loss: number) => void;
}

export interface ClassifierTrainResult {
  classifier: AgeClassifier;
  /** Share of test-split faces whose group the classifier gets right. */
  testAccuracy: number;
  /** Share within one group of the right one (neighbouring groups are easy to confuse). */
  testAccuracyWithinOne: number;
  testSamples: number;
  finalLoss: number;
}

/**
 * Trains the auxiliary age-group classifier C on real labels (ragan-spec.md: trained first, then
 * frozen for the age classification loss) and measures it on the test split. The caller owns the
 * returned classifier.
 */
export async function trainClassifier(opts: ClassifierTrainOptions): Promise<ClassifierTrainResult> {
  const steps = opts.steps ?? 300;
  const batch = opts.batch ?? 16;
  const classifier = createAgeClassifier(opts.config, { seed: opts.seed ?? 0 });
  const opt = new Adam(classifier.weights(), { lr: opts.lr ?? 1e-3, beta1: 0.9, beta2: 0.999 });
  const train = await createSampler(opts.cacheDir, { batch, split: 'train', seed: opts.seed ?? 0, flip: true, balanceGroups: true });
  const vars = classifier.weights().filter((w) => w.trainable).map((w) => w.variable);
  let finalLoss = NaN;
  try {
    for (let s = 1; s <= steps; s++) {
      const b = await train.next();
      const numGroups = train.index.groups.labels.length;
      const { value, grads } = tf.variableGrads(() => {
        const y = tf.oneHot(tf.tensor1d(b.groups, 'int32'), numGroups).toFloat() as tf.Tensor2D;
        return ageClassificationLoss(classifier.apply(b.images), y);
      }, vars);
      opt.applyGradients(grads);
      finalLoss = value.dataSync()[0]!;
      tf.dispose([value, ...Object.values(grads)]);
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
      seen += take;
      b.dispose();
    }
  } finally {
    await test.close();
  }
  return { classifier, testAccuracy: seen ? right / seen : NaN, testAccuracyWithinOne: seen ? near / seen : NaN, testSamples: seen, finalLoss };
}
