import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors/index.js';
import { assertRank } from './shape-checks.js';

/**
 * Nearest-neighbour ×2 upsampling (each pixel becomes a 2×2 block).
 *
 * - `x`: [N, H, W, C]
 * - returns: [N, 2H, 2W, C]; the caller disposes it. `x` is not disposed.
 *
 * Built from concat + reshape instead of `tf.image.resizeNearestNeighbor`: same values, but every op
 * involved has gradients of any order on every backend (ResizeNearestNeighborGrad has no gradient).
 */
export function upsampleNearest2x(x: tf.Tensor4D): tf.Tensor4D {
  assertRank(x, 4, 'upsampleNearest2x: x');
  const [n, h, w, c] = x.shape;
  return tf.tidy(() => {
    // Duplicating channels then folding them into W repeats every column: (w, c + k*C) -> (2w + k, c).
    const cols = tf.concat([x, x], 3).reshape([n, h, 2 * w * c]);
    // Duplicating each (already widened) row and folding into H repeats every row.
    return tf.concat([cols, cols], 2).reshape([n, 2 * h, 2 * w, c]);
  });
}

/**
 * 2×2 average pooling with stride 2.
 *
 * - `x`: [N, H, W, C] with H and W even
 * - returns: [N, H/2, W/2, C]; the caller disposes it. `x` is not disposed.
 *
 * Built from reshape + mean instead of `tf.avgPool`, whose gradient kernel (AvgPoolGrad) has no
 * gradient in tfjs: the discriminator uses this, and R1 differentiates through it twice.
 */
export function downsampleAvg2x(x: tf.Tensor4D): tf.Tensor4D {
  assertRank(x, 4, 'downsampleAvg2x: x');
  const [n, h, w, c] = x.shape;
  if (h % 2 !== 0 || w % 2 !== 0) throw new ShapeError(`downsampleAvg2x: height and width must be even, got [${x.shape.join(', ')}]`);
  return tf.tidy(() => {
    const pairsW = tf.mean(x.reshape([n * h, w / 2, 2, c]), 2); // [N*H, W/2, C]
    const pairsH = tf.mean(pairsW.reshape([(n * h) / 2, 2, (w / 2) * c]), 1); // [N*H/2, W/2*C]
    return pairsH.reshape([n, h / 2, w / 2, c]);
  });
}

/**
 * Global average pooling over height and width.
 *
 * - `x`: [N, H, W, C]
 * - returns: [N, C]; the caller disposes it. `x` is not disposed.
 */
export function globalAvgPool(x: tf.Tensor4D): tf.Tensor2D {
  assertRank(x, 4, 'globalAvgPool: x');
  return tf.tidy(() => tf.mean(x, [1, 2]) as tf.Tensor2D);
}

/**
 * Shifts each image of `x` by (dy[i], dx[i]) whole pixels (down and right for positive values),
 * repeating the edge pixels. Differentiable (slices, tiles and concats).
 *
 * - `x`: [N, H, W, C]; `dy`, `dx`: N integers each, |d| < H and W
 * - returns: [N, H, W, C]; the caller disposes it. `x` is not disposed.
 */
export function shiftImages(x: tf.Tensor4D, dy: readonly number[], dx: readonly number[]): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  if (dy.length !== n || dx.length !== n) throw new ShapeError(`shiftImages: ${n} images but ${dy.length} and ${dx.length} shifts`);
  if (![...dy, ...dx].every((d) => Number.isInteger(d) && Math.abs(d) < Math.min(h, w)))
    throw new ShapeError(`shiftImages: shifts must be integers below the side ${Math.min(h, w)}`);
  const m = Math.max(1, ...dy.map(Math.abs), ...dx.map(Math.abs));
  return tf.tidy(() => {
    // edge padding: a pad of m then a per-image crop
    const rowsPad = tf.concat(
      [tf.tile(x.slice([0, 0, 0, 0], [n, 1, w, c]), [1, m, 1, 1]), x, tf.tile(x.slice([0, h - 1, 0, 0], [n, 1, w, c]), [1, m, 1, 1])],
      1,
    );
    const padded = tf.concat(
      [
        tf.tile(rowsPad.slice([0, 0, 0, 0], [n, h + 2 * m, 1, c]), [1, 1, m, 1]),
        rowsPad,
        tf.tile(rowsPad.slice([0, 0, w - 1, 0], [n, h + 2 * m, 1, c]), [1, 1, m, 1]),
      ],
      2,
    );
    const parts = Array.from({ length: n }, (_, i) => padded.slice([i, m - dy[i]!, m - dx[i]!, 0], [1, h, w, c]));
    return tf.concat(parts, 0) as tf.Tensor4D;
  });
}
