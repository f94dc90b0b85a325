import type * as tf from '@tensorflow/tfjs';
import { estimateAge } from './age.js';
import { faceEmbedding } from './embedding.js';
import { loadFaceModels, type FaceModelsOptions } from './models.js';
import type { RegionSpec } from './region.js';

/**
 * The one face-api adapter of the project (`ragan eval`, the evaluation during training and the tests use
 * it). face-api's age regressor in the shape of @ragan/eval's `AgeEstimator` (structural: @ragan/data does
 * not import @ragan/eval). Images `[N, H, W, 3]` in [-1, 1], not disposed. Loads the model on first use.
 * `region`: `aligned` (default) for FFHQ-Aging crops, `full` for tight crops such as UTKFace chips.
 */
export function faceApiAgeEstimator(options: { region?: RegionSpec; modelDir?: string } = {}): {
  readonly name: string;
  estimate(images: tf.Tensor4D): Promise<number[]>;
} {
  const models: FaceModelsOptions = { age: true, recognition: false, ...(options.modelDir ? { modelDir: options.modelDir } : {}) };
  const region = options.region ?? 'aligned';
  return {
    name: `face-api age regressor (${typeof region === 'string' ? region : 'custom'} crop)`,
    async estimate(images) {
      await loadFaceModels(models);
      return estimateAge(images, { range: 'signed', region });
    },
  };
}

/**
 * face-api's 128-D recognition net in the shape of @ragan/eval's `FaceEmbedder`. Images `[N, H, W, 3]`
 * in [-1, 1], not disposed; the caller disposes the `[N, 128]` result. For gradients use `faceEmbedding`
 * directly (synchronous, differentiable).
 */
export function faceApiEmbedder(options: { region?: RegionSpec; modelDir?: string } = {}): {
  readonly name: string;
  readonly sameIdentityThreshold: number;
  readonly dims: number;
  embed(images: tf.Tensor4D): Promise<tf.Tensor2D>;
} {
  const models: FaceModelsOptions = { age: false, recognition: true, ...(options.modelDir ? { modelDir: options.modelDir } : {}) };
  const region = options.region ?? 'aligned';
  return {
    name: `face-api recognition 128-D (${typeof region === 'string' ? region : 'custom'} crop)`,
    sameIdentityThreshold: 0.6,
    dims: 128,
    async embed(images) {
      await loadFaceModels(models);
      return faceEmbedding(images, { range: 'signed', region });
    },
  };
}
