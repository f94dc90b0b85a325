import { ConfigError, ShapeError } from '../errors/index.js';
import type { Point2 } from './image.js';
import { featherMask, fillPolygon } from './raster.js';

export interface LandmarkMaskOptions {
  /**
   * How far the brows are raised toward the hairline, as a fraction of the eye-midpoint-to-chin
   * distance. Faces are roughly thirds (hairline-brow, brow-nose, nose-chin), so ≈ 0.55 reaches the
   * hairline; the default 0.7 takes in the forehead and the front of the hair [ours; the spec puts hair
   * in the face region so that it can grey].
   */
  foreheadRaise?: number;
  /** Grow the polygon about its centroid by this fraction (takes in the jaw edge). Default 0.05. */
  grow?: number;
  /** Feather radius as a fraction of the mask's larger side (soft edge). Default 0.015; 0 = hard edge. */
  feather?: number;
}

export const DEFAULT_LANDMARK_MASK: Required<LandmarkMaskOptions> = { foreheadRaise: 0.7, grow: 0.05, feather: 0.015 };

/** The face-region polygon (photo coordinates) that `landmarkMask` fills. */
export function landmarkMaskPolygon(landmarks68: Point2[], options: LandmarkMaskOptions = {}): Point2[] {
  if (landmarks68.length !== 68) throw new ShapeError(`landmarkMask: expected 68 landmarks, got ${landmarks68.length}`);
  const { foreheadRaise, grow } = { ...DEFAULT_LANDMARK_MASK, ...options };
  if (!(foreheadRaise >= 0 && foreheadRaise <= 3)) throw new ConfigError('foreheadRaise', `must be in [0, 3], got ${foreheadRaise}`);
  if (!(grow > -0.5 && grow <= 1)) throw new ConfigError('grow', `must be in (-0.5, 1], got ${grow}`);
  const L = landmarks68;
  const mean = (idx: number[]): Point2 => [idx.reduce((s, i) => s + L[i]![0], 0) / idx.length, idx.reduce((s, i) => s + L[i]![1], 0) / idx.length];
  const eyes = mean([36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47]);
  const chin = L[8]!;
  // "Up" is from the chin through the eyes, so tilted faces get a tilted forehead.
  const ux = eyes[0] - chin[0];
  const uy = eyes[1] - chin[1];
  const dist = Math.hypot(ux, uy);
  if (!(dist > 1e-6)) throw new ShapeError('landmarkMask: degenerate landmarks (eyes on the chin)');
  const raise = (p: Point2, f: number): Point2 => [p[0] + (ux / dist) * dist * f, p[1] + (uy / dist) * dist * f];

  const poly: Point2[] = [];
  poly.push(raise(L[0]!, foreheadRaise * 0.35));
  for (let i = 0; i <= 16; i++) poly.push(L[i]!);
  poly.push(raise(L[16]!, foreheadRaise * 0.35));
  // Brows right to left; the outer ends a little less raised, giving a rounded forehead.
  for (let i = 26; i >= 17; i--) {
    const t = i <= 21 ? (i - 17) / 4 : (26 - i) / 4; // 0 at the outer ends, 1 at the inner
    poly.push(raise(L[i]!, foreheadRaise * (0.8 + 0.2 * t)));
  }
  const cx = poly.reduce((s, p) => s + p[0], 0) / poly.length;
  const cy = poly.reduce((s, p) => s + p[1], 0) / poly.length;
  return poly.map(([x, y]): Point2 => [cx + (x - cx) * (1 + grow), cy + (y - cy) * (1 + grow)]);
}

/**
 * The face-region mask from 68 landmarks: the jaw line (0-16) closed over the top by the brows
 * (17-26) raised toward the hairline, filled and feathered. `size` is the image's side or
 * `{ width, height }`; the landmarks are in its pixels. Returns `height * width` bytes, 255 = face.
 */
export function landmarkMask(landmarks68: Point2[], size: number | { width: number; height: number }, options: LandmarkMaskOptions = {}): Uint8Array {
  const { width, height } = typeof size === 'number' ? { width: size, height: size } : size;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new ShapeError(`landmarkMask: size must be positive integers, got ${width}x${height}`);
  }
  const feather = options.feather ?? DEFAULT_LANDMARK_MASK.feather;
  const hard = fillPolygon(landmarkMaskPolygon(landmarks68, options), width, height);
  return featherMask(hard, width, height, feather * Math.max(width, height));
}
