import * as tf from '@tensorflow/tfjs';
import { ageToGroupWeights, getAgeGroupSet, type AgeGroupSet, type AgeGroupSetName } from '../config/age-groups.js';
import { ShapeError } from '../errors/index.js';
import { oneHot } from '../ops/one-hot.js';

/**
 * Target group weights for G and CBN from group indices (one-hot).
 * - `indices`: N group indices in [0, K), an array or a [N] tensor (not disposed)
 * - returns: [N, K] float32; the caller disposes it.
 */
export function groupTarget(indices: number[] | tf.Tensor1D, numGroups: number): tf.Tensor2D {
  return oneHot(indices, numGroups);
}

/**
 * Target group weights from exact ages: each row blends the two neighbouring groups' CBN parameters
 * (ageToGroupWeights), for smooth age sliders.
 * - `ages`: N ages in years ≥ 0; `set`: the model's age-group set (or its name)
 * - returns: [N, K] float32 rows summing to 1; the caller disposes it.
 */
export function ageTarget(ages: number[], set: AgeGroupSet | AgeGroupSetName): tf.Tensor2D {
  const groups = typeof set === 'string' ? getAgeGroupSet(set) : set;
  if (ages.length === 0) throw new ShapeError('ageTarget: ages must not be empty');
  return tf.tensor2d(
    ages.map((a) => ageToGroupWeights(a, groups)),
    [ages.length, groups.groups.length],
    'float32',
  );
}
