import type * as tf from '@tensorflow/tfjs';
import type { Generator } from '@ragan/core';

/**
 * The networks and data an evaluation needs, as interfaces: @ragan/eval depends on @ragan/core only, so
 * the face-api implementations (in @ragan/data) and the dataset reader are handed in by the caller
 * (the `ragan eval` command wires them). Tests use small fakes.
 *
 * Tensor convention everywhere: images `[N, H, W, 3]` in [-1, 1], masks `[N, H, W, 1]` in [0, 1].
 * Implementations never dispose their inputs; tensors they return belong to the caller.
 */

/** An independent, pretrained age regressor (face-api's age net in `ragan eval`). */
export interface AgeEstimator {
  /** Shown in the results, e.g. `face-api-age-gender`. */
  readonly name: string;
  /** Estimated age in years for each image of `[N, H, W, 3]` in [-1, 1]. */
  estimate(images: tf.Tensor4D): Promise<number[]>;
}

/** A face-recognition embedding (face-api's 128-D net in `ragan eval`). */
export interface FaceEmbedder {
  readonly name: string;
  /** Euclidean distance under which two faces count as the same person (0.6 for face-api). */
  readonly sameIdentityThreshold: number;
  /** Embedding length D (128 for face-api). */
  readonly dims: number;
  /** `[N, D]` embeddings of `[N, H, W, 3]` images in [-1, 1]. The caller disposes the result. */
  embed(images: tf.Tensor4D): Promise<tf.Tensor2D>;
}

/** Features for FID/KID. The standard one is Inception-v3 pool_3 (2048-D); anything else is labelled non-standard. */
export interface FeatureExtractor {
  readonly name: string;
  /** True only for the FID Inception weights (pt_inception-2015-12-05); see docs/eval-protocol.md. */
  readonly standard: boolean;
  /** Feature length D. */
  readonly dims: number;
  /** SHA-256 identifying the weights, when known (recorded in the results). */
  readonly weightsSha256?: string;
  /** `[N, D]` features of `[N, H, W, 3]` images in [-1, 1]. The caller disposes the result. */
  extract(images: tf.Tensor4D): Promise<tf.Tensor2D>;
  /** Frees the network's weights, when the extractor owns any. */
  dispose?(): void;
}

/** Test faces with their labels, loaded by index. */
export interface EvalSamples {
  images: tf.Tensor4D;
  masks: tf.Tensor4D;
  /** Age-group index of each face in the dataset's group set. */
  groups: number[];
  /** Labelled age in years of each face; null where the dataset has only a group (FFHQ-Aging). */
  ages: (number | null)[];
}

/** A split of a dataset that can be read by index (random access makes a seeded subset cheap). */
export interface EvalDataset {
  /** Shown in the results, e.g. `utkface`. */
  readonly name: string;
  readonly split: string;
  /** Image side in pixels. */
  readonly resolution: number;
  /** Age-group set name of `groups` (`ffhq-aging-10`, `lats-6`). */
  readonly ageGroups: string;
  /** Stable id of every face of the split, in index order (file names); hashed into the results. */
  readonly ids: readonly string[];
  /** SHA-256 (hex) identifying the whole dataset, e.g. of the cache manifest. */
  readonly datasetHash: string;
  /** Loads the faces at `indices` (ascending); the caller disposes the tensors. */
  load(indices: readonly number[]): Promise<EvalSamples>;
}

/** The model under evaluation: a trained generator or a baseline. */
export interface EvalModel {
  readonly name: string;
  readonly kind: 'model' | 'baseline';
  /** SHA-256 of manifest.json followed by every weight file; for baselines a fixed label such as `baseline:identity`. */
  readonly sha256: string;
  /** Age-group set the model was trained for; must equal the dataset's. */
  readonly ageGroups: string;
  /** Image side the model takes; undefined when any size works (the identity baseline). */
  readonly resolution: number | undefined;
  /** Free description recorded in the results (preset, config, training step). */
  readonly details?: Record<string, unknown>;
  /** The generator behind `generate`, when there is one (so a caller can run it elsewhere, e.g. ONNX Runtime). */
  readonly generator?: Generator;
  /** Re-ages `images` to `group`; returns (or resolves to) a new `[N, H, W, 3]` tensor the caller disposes. */
  generate(images: tf.Tensor4D, masks: tf.Tensor4D, group: number): tf.Tensor4D | Promise<tf.Tensor4D>;
  dispose(): void;
}
