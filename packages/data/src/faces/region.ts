import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '@ragan/core';

/** A sub-rectangle of an image, in fractions of its width and height (0..1). */
export interface FaceRegion {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Where face-api's recognition net expects the face inside one of our FFHQ-Aging aligned crops
 * (alignFace, default sizes): face-api's dlib-style box (eye-to-mouth / 0.45, centred on the eyes-mouth
 * centroid) measured on the 22 aligned faces of face-api's demo photos (mean x 0.211, y 0.309, side 0.575,
 * sd ≤ 0.021), made symmetric about the vertical axis.
 */
export const ALIGNED_EMBEDDING_REGION: Readonly<FaceRegion> = { x: 0.2125, y: 0.31, width: 0.575, height: 0.575 };

/**
 * Where face-api's age regressor expects the face inside an aligned crop: face-api's default (the
 * landmarks' bounding box grown by 20%, padded to a square) measured the same way (x 0.227, y 0.341,
 * 0.578 × 0.547), as a square centred horizontally.
 */
export const ALIGNED_AGE_REGION: Readonly<FaceRegion> = { x: 0.21, y: 0.33, width: 0.58, height: 0.58 };

/** The whole image. */
export const FULL_REGION: Readonly<FaceRegion> = { x: 0, y: 0, width: 1, height: 1 };

export type RegionSpec = 'aligned' | 'full' | FaceRegion;

export function resolveRegion(spec: RegionSpec, aligned: Readonly<FaceRegion>, field: string): Readonly<FaceRegion> {
  const r = spec === 'aligned' ? aligned : spec === 'full' ? FULL_REGION : spec;
  const ok =
    [r.x, r.y, r.width, r.height].every(Number.isFinite) &&
    r.x >= 0 &&
    r.y >= 0 &&
    r.width > 0 &&
    r.height > 0 &&
    r.x + r.width <= 1 + 1e-9 &&
    r.y + r.height <= 1 + 1e-9;
  if (!ok) throw new ConfigError(field, `region must lie inside [0, 1]², got ${JSON.stringify(r)}`);
  return r;
}

/**
 * Crops `region` out of `[N, H, W, 3]` and resizes it to `size`×`size` (bilinear, half-pixel centres).
 * Differentiable (slice + resizeBilinear). Returns a new tensor; call inside tidy or dispose it.
 */
export function cropRegion(images: tf.Tensor4D, region: Readonly<FaceRegion>, size: number): tf.Tensor4D {
  const [, h, w] = images.shape;
  const y0 = Math.min(h - 1, Math.round(region.y * h));
  const x0 = Math.min(w - 1, Math.round(region.x * w));
  const ch = Math.max(1, Math.min(h - y0, Math.round(region.height * h)));
  const cw = Math.max(1, Math.min(w - x0, Math.round(region.width * w)));
  const cropped = ch === h && cw === w ? images : tf.slice(images, [0, y0, x0, 0], [-1, ch, cw, -1]);
  return ch === size && cw === size ? cropped : tf.image.resizeBilinear(cropped, [size, size], false, true);
}
