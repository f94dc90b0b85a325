import * as tf from '@tensorflow/tfjs';
import { memoryBatchSource } from '../src/trainer/memory-source.js';

/**
 * The run behind `test/fixtures/run-2026-12-07/`: a micro model (16², 4–8 channels) on six seeded random
 * images, written by the code of 2026-12-07 (before the backend package split). `legacy-resume.test.ts`
 * resumes it and compares the losses with the ones that code logged when it went on uninterrupted.
 */
export const LEGACY_CONFIG = {
  preset: 'tiny',
  model: { resolution: 16, c0: 4, cMax: 8, nIdBlocks: 1, nAmDown: 2, nDecBlocks: 1, styleDim: 8, dC0: 4, clsC0: 4, stemKernel: 3 },
  seed: 3,
  batch: 2,
  r1: { gamma: 10, every: 2 },
  steps: 4,
  sampleEvery: 100,
  checkpointEvery: 2,
  keepCheckpoints: 1,
};

/** Six seeded random 16² images with full masks, groups spread over the ten age groups. */
export function legacySource() {
  const images = tf.randomUniform([6, 16, 16, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
  const masks = tf.ones([6, 16, 16, 1]) as tf.Tensor4D;
  const source = memoryBatchSource(images, masks, [0, 2, 4, 6, 8, 9], { batch: 2, seed: 5 });
  tf.dispose([images, masks]);
  return source;
}
