/**
 * Tiny fixtures for @ragan/eval tests: faces whose pixels encode their age, and fake networks that
 * implement the interfaces in ways a test can compute by hand.
 */
import * as tf from '@tensorflow/tfjs';
import { FFHQ_AGING_GROUPS, ageToGroup, groupCenter } from '@ragan/core';
import type { AgeEstimator, EvalDataset, EvalModel, FaceEmbedder } from '../src/interfaces.js';
import { memoryDataset } from '../src/run/dataset.js';

/** Pixel value that encodes `age` (0..100 ↦ -1..1). */
export const ageToPixel = (age: number): number => age / 50 - 1;

/** Reads the age back: the mean pixel value. Exact on ageToPixel images. */
export const fakeAgeEstimator: AgeEstimator = {
  name: 'fake-mean-pixel-age',
  async estimate(images) {
    const m = tf.tidy(() => tf.mul(tf.add(tf.mean(images, [1, 2, 3]), 1), 50));
    const v = Array.from(await m.data());
    m.dispose();
    return v;
  },
};

/** Embedding = per-channel mean: identical images are at distance 0, constant images c, c' at √3·|c - c'|. */
export const fakeEmbedder: FaceEmbedder = {
  name: 'fake-channel-mean',
  sameIdentityThreshold: 0.6,
  dims: 3,
  async embed(images) {
    return tf.tidy(() => tf.mean(images, [1, 2]) as tf.Tensor2D);
  },
};

/** A second embedder (scaled) to exercise "others". */
export const fakeEmbedder2: FaceEmbedder = {
  name: 'fake-channel-mean-x2',
  sameIdentityThreshold: 0.5,
  dims: 3,
  async embed(images) {
    return tf.tidy(() => tf.mul(tf.mean(images, [1, 2]), 2) as tf.Tensor2D);
  },
};

/** A "perfect" model: paints every face with the centre age of the target group (so age hits 100%). */
export function oracleModel(): EvalModel {
  return {
    name: 'oracle',
    kind: 'model',
    sha256: 'a'.repeat(64),
    ageGroups: 'ffhq-aging-10',
    resolution: undefined,
    generate: (images, _masks, group) => tf.fill(images.shape, ageToPixel(groupCenter(FFHQ_AGING_GROUPS.groups[group]!))) as tf.Tensor4D,
    dispose: () => {},
  };
}

/** Faces of constant colour ageToPixel(age), `size`², with a centred square face mask. */
export async function ageFaces(ages: number[], size = 8): Promise<{ dataset: EvalDataset; dispose: () => void }> {
  const n = ages.length;
  const images = tf.tidy(() => tf.mul(tf.ones([n, size, size, 3]), tf.tensor(ages.map(ageToPixel), [n, 1, 1, 1])) as tf.Tensor4D);
  const q = Math.floor(size / 4);
  const masks = tf.tidy(
    () =>
      tf.pad(tf.ones([n, size - 2 * q, size - 2 * q, 1]), [
        [0, 0],
        [q, q],
        [q, q],
        [0, 0],
      ]) as tf.Tensor4D,
  );
  const dataset = await memoryDataset({
    images,
    masks,
    groups: ages.map((a) => ageToGroup(a)),
    ages,
    ids: ages.map((a, i) => `${a}_${i}.jpg`),
    name: 'fixture',
  });
  return { dataset, dispose: () => tf.dispose([images, masks]) };
}

/** A valid results object (identity baseline on six fixture faces, every metric). */
export async function validResults(): Promise<import('../src/results/schema.js').EvalResults> {
  const { evaluate } = await import('../src/run/evaluate.js');
  const { identityBaseline } = await import('../src/run/models.js');
  const { embedderFeatureExtractor } = await import('../src/extractors/embedder.js');
  const { dataset, dispose } = await ageFaces([25, 27, 45, 47, 5, 6]);
  try {
    return await evaluate({
      model: identityBaseline(),
      dataset,
      ageEstimator: fakeAgeEstimator,
      embedders: [fakeEmbedder],
      extractor: embedderFeatureExtractor(fakeEmbedder),
    });
  } finally {
    dispose();
  }
}
