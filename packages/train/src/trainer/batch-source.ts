import type { FfhqAlignParams } from '@ragan/core';
import type * as tf from '@tensorflow/tfjs';

/** One training batch; the receiver disposes the tensors (or calls dispose()). */
export interface SourceBatch {
  images: tf.Tensor4D;
  masks: tf.Tensor4D;
  groups: number[];
}

/**
 * Where training batches come from (the @ragan/data sampler implements it). The cursor is JSON that
 * restores the exact position and RNG state, so a resumed run sees the same batches.
 */
export interface BatchSource {
  next(): Promise<SourceBatch>;
  getCursor(): unknown;
  setCursor(cursor: unknown): void | Promise<void>;
  /** Fixed inputs for the sample grids (the same every call); the caller disposes them. */
  fixedSamples(count: number): Promise<{ images: tf.Tensor4D; masks: tf.Tensor4D }>;
  /** Image side the source produces. */
  readonly resolution: number;
  /** Name of the age-group set the labels use (checked against the model's), if known. */
  readonly ageGroups?: string;
  /**
   * How the faces are framed, when it is not the spec's FFHQ-Aging framing (UTKFace chips are much
   * tighter). New runs record it as `model.alignment`, so exported models crop photos the same way.
   */
  readonly alignment?: Required<FfhqAlignParams>;
  /** Faces in each split of the data, when known (the age classifier and the evaluations need test faces). */
  readonly splits?: { train: number; test: number };
  close?(): Promise<void> | void;
}
