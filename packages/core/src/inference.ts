import * as tf from '@tensorflow/tfjs';
import { getAgeGroupSet, parseGroup } from './config/age-groups.js';
import { ShapeError } from './errors/index.js';
import type { Generator } from './models/generator.js';
import { ageTarget, groupTarget } from './models/targets.js';

/** A target: an age group (index or label such as "70+") or a continuous age in years. */
export type AgeTargetSpec = { group: number | string } | { age: number };

function targetWeights(generator: Generator, target: AgeTargetSpec, n: number): tf.Tensor2D {
  const set = getAgeGroupSet(generator.config.ageGroups);
  if ('age' in target) return ageTarget(new Array<number>(n).fill(target.age), set);
  const idx = typeof target.group === 'number' ? target.group : parseGroup(target.group, set);
  if (!Number.isInteger(idx) || idx < 0 || idx >= set.groups.length) throw new ShapeError(`group ${target.group} is not in [0, ${set.groups.length})`);
  return groupTarget(new Array<number>(n).fill(idx), set.groups.length);
}

/**
 * Re-ages aligned faces: `G(x, m, y')` in inference mode.
 * - `images`: [N, H, W, 3] in [-1, 1] at the model's resolution; `masks`: [N, H, W, 1] face region
 * - `target`: `{ group }` (index or label) or `{ age }` (a continuous age blends two groups)
 * - returns: [N, H, W, 3] in [-1, 1]; the caller disposes it. Inputs are not disposed.
 */
export function reage(generator: Generator, images: tf.Tensor4D, masks: tf.Tensor4D, target: AgeTargetSpec): tf.Tensor4D {
  const res = generator.config.resolution;
  if (images.shape[1] !== res || images.shape[2] !== res) {
    throw new ShapeError(`reage: images are ${images.shape[1]}×${images.shape[2]} but the model was built for ${res}×${res}; resize or align them first`);
  }
  return tf.tidy(() => generator.apply(images, masks, targetWeights(generator, target, images.shape[0])));
}

/**
 * Every age group for each face: returns [N·K, H, W, 3] ordered face-major (face 0 in groups 0..K-1,
 * then face 1, …). The caller disposes it.
 */
export function ageStrip(generator: Generator, images: tf.Tensor4D, masks: tf.Tensor4D): tf.Tensor4D {
  const k = getAgeGroupSet(generator.config.ageGroups).groups.length;
  const outs: tf.Tensor4D[] = [];
  try {
    for (let g = 0; g < k; g++) outs.push(reage(generator, images, masks, { group: g }));
    return tf.tidy(() => {
      const n = images.shape[0];
      const [, h, w, c] = images.shape;
      // [K, N, H, W, C] → [N, K, H, W, C]
      return tf.transpose(tf.stack(outs), [1, 0, 2, 3, 4]).reshape([n * k, h, w, c]) as tf.Tensor4D;
    });
  } finally {
    tf.dispose(outs);
  }
}
