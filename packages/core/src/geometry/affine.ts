import { ShapeError } from '../errors/index.js';
import type { Point2 } from './image.js';

/**
 * A 2×3 affine matrix `[a, b, c, d, e, f]` mapping `(x, y)` to `(a·x + b·y + c, d·x + e·y + f)`.
 * Coordinates are continuous pixels: pixel (col i, row j) covers [i, i+1) × [j, j+1), its centre is at
 * (i + 0.5, j + 0.5) (the convention of face-api's landmarks and of sharp).
 */
export type Affine = [number, number, number, number, number, number];

export function applyAffine(m: Affine, p: Point2): Point2 {
  return [m[0] * p[0] + m[1] * p[1] + m[2], m[3] * p[0] + m[4] * p[1] + m[5]];
}

export function invertAffine(m: Affine): Affine {
  const [a, b, c, d, e, f] = m;
  const det = a * e - b * d;
  if (!Number.isFinite(det) || Math.abs(det) < 1e-12) throw new ShapeError(`invertAffine: the matrix [${m.join(', ')}] is singular`);
  const ia = e / det;
  const ib = -b / det;
  const id = -d / det;
  const ie = a / det;
  return [ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)];
}

/** `compose(m2, m1)` applies m1 first, then m2. */
export function composeAffine(m2: Affine, m1: Affine): Affine {
  return [
    m2[0] * m1[0] + m2[1] * m1[3],
    m2[0] * m1[1] + m2[1] * m1[4],
    m2[0] * m1[2] + m2[1] * m1[5] + m2[2],
    m2[3] * m1[0] + m2[4] * m1[3],
    m2[3] * m1[1] + m2[4] * m1[4],
    m2[3] * m1[2] + m2[4] * m1[5] + m2[5],
  ];
}

/** Mean scale factor of the linear part (sqrt |det|): output pixels per input pixel. */
export function affineScale(m: Affine): number {
  return Math.sqrt(Math.abs(m[0] * m[4] - m[1] * m[3]));
}
