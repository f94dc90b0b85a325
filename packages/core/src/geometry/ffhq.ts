import { ShapeError } from '../errors/index.js';
import type { Point2 } from './image.js';
import type { Affine } from './affine.js';

/** How the FFHQ-Aging crop is derived from the landmarks (docs/model.md, Data). */
export interface FfhqAlignParams {
  /** Half side ≥ this × |eye-to-eye|. Default 2.0 (as FFHQ). */
  eyeToEyeScale?: number;
  /** Half side ≥ this × |eye-to-mouth|. Default 2.2 [ours, spec]; FFHQ uses 1.8 (a looser crop keeps hair and chin). */
  eyeToMouthScale?: number;
  /** Centre = eye midpoint + this × eye-to-mouth. Default 0.1 (as FFHQ). */
  centreShift?: number;
}

export const DEFAULT_FFHQ_ALIGN: Required<FfhqAlignParams> = { eyeToEyeScale: 2.0, eyeToMouthScale: 2.2, centreShift: 0.1 };

/**
 * The framing of UTKFace's aligned 200×200 chips in the same terms: the crop is much tighter than
 * FFHQ-Aging's (half side ≈ 1.3 eye distances instead of 2.0) and centred lower, between eyes and mouth.
 * Measured with face-api landmarks on the first 120 chips of crop_part1 in hash order, 116 of which had a
 * face found (`packages/data/scripts/fit-framing.ts ... 120`; medians; 10th–90th percentiles 1.19–1.40,
 * 1.18–1.34, 0.47–0.56). A model trained on UTKFace must
 * see photos aligned this way, or every face arrives zoomed out compared with its training data.
 */
export const UTKFACE_ALIGN: Required<FfhqAlignParams> = { eyeToEyeScale: 1.296, eyeToMouthScale: 1.245, centreShift: 0.524 };

/** Named framings a model can declare in its config (`alignment`). */
export const ALIGNMENT_PRESETS: Readonly<Record<'ffhq-aging' | 'utkface', Required<FfhqAlignParams>>> = {
  'ffhq-aging': DEFAULT_FFHQ_ALIGN,
  utkface: UTKFACE_ALIGN,
};

/** The oriented crop square in photo coordinates. */
export interface AlignQuad {
  /** Corners top-left, bottom-left, bottom-right, top-right (FFHQ's order), photo pixels. */
  quad: [Point2, Point2, Point2, Point2];
  centre: Point2;
  /** Half the side, photo pixels. */
  halfSide: number;
  /** Rotation of the crop's x axis in the photo, radians (0 = upright). */
  angle: number;
  eyeLeft: Point2;
  eyeRight: Point2;
  mouthLeft: Point2;
  mouthRight: Point2;
}

/** The centroid of `points` (e.g. an eye: `meanPoint(landmarks68.slice(36, 42))`). */
export function meanPoint(points: readonly Point2[]): Point2 {
  let x = 0;
  let y = 0;
  for (const p of points) {
    x += p[0];
    y += p[1];
  }
  return [x / points.length, y / points.length];
}

/**
 * FFHQ's recipe (NVlabs/ffhq-dataset `recreate_aligned_images`) with the spec's sizes: eye centres from
 * points 36-41 and 42-47, mouth corners 48 and 54; x = eye_to_eye − flip(eye_to_mouth)·[−1, 1] normalised
 * (so the crop axis blends the eye line and the perpendicular of the eye-mouth line); half side =
 * max(2.0·|eye_to_eye|, 2.2·|eye_to_mouth|); centre = eye midpoint + 0.1·eye_to_mouth.
 * "Left eye" is the one at smaller x in an upright photo (the subject's right eye, iBUG 36-41).
 */
export function ffhqAlignQuad(landmarks68: Point2[], params: FfhqAlignParams = {}): AlignQuad {
  if (landmarks68.length !== 68) throw new ShapeError(`ffhqAlignQuad: expected 68 landmarks, got ${landmarks68.length}`);
  const { eyeToEyeScale, eyeToMouthScale, centreShift } = { ...DEFAULT_FFHQ_ALIGN, ...params };
  const eyeLeft = meanPoint(landmarks68.slice(36, 42));
  const eyeRight = meanPoint(landmarks68.slice(42, 48));
  const eyeAvg: Point2 = [(eyeLeft[0] + eyeRight[0]) / 2, (eyeLeft[1] + eyeRight[1]) / 2];
  const eyeToEye: Point2 = [eyeRight[0] - eyeLeft[0], eyeRight[1] - eyeLeft[1]];
  const mouthLeft = landmarks68[48]!;
  const mouthRight = landmarks68[54]!;
  const mouthAvg: Point2 = [(mouthLeft[0] + mouthRight[0]) / 2, (mouthLeft[1] + mouthRight[1]) / 2];
  const eyeToMouth: Point2 = [mouthAvg[0] - eyeAvg[0], mouthAvg[1] - eyeAvg[1]];

  // x = eye_to_eye - flipud(eye_to_mouth) * [-1, 1]
  let xv: Point2 = [eyeToEye[0] + eyeToMouth[1], eyeToEye[1] - eyeToMouth[0]];
  const xn = Math.hypot(xv[0], xv[1]);
  if (!(xn > 1e-6)) throw new ShapeError('ffhqAlignQuad: degenerate landmarks (eyes and mouth coincide)');
  const halfSide = Math.max(Math.hypot(...eyeToEye) * eyeToEyeScale, Math.hypot(...eyeToMouth) * eyeToMouthScale);
  xv = [(xv[0] / xn) * halfSide, (xv[1] / xn) * halfSide];
  const yv: Point2 = [-xv[1], xv[0]];
  const c: Point2 = [eyeAvg[0] + eyeToMouth[0] * centreShift, eyeAvg[1] + eyeToMouth[1] * centreShift];
  const quad: AlignQuad['quad'] = [
    [c[0] - xv[0] - yv[0], c[1] - xv[1] - yv[1]],
    [c[0] - xv[0] + yv[0], c[1] - xv[1] + yv[1]],
    [c[0] + xv[0] + yv[0], c[1] + xv[1] + yv[1]],
    [c[0] + xv[0] - yv[0], c[1] + xv[1] - yv[1]],
  ];
  return { quad, centre: c, halfSide, angle: Math.atan2(xv[1], xv[0]), eyeLeft, eyeRight, mouthLeft, mouthRight };
}

/**
 * The crop → photo affine for an output of `size`×`size` pixels: crop point (u, v) maps to
 * topLeft + (u/size)·(topRight − topLeft) + (v/size)·(bottomLeft − topLeft).
 */
export function quadToAffine(q: AlignQuad, size: number): Affine {
  const [tl, bl, , tr] = q.quad;
  return [(tr[0] - tl[0]) / size, (bl[0] - tl[0]) / size, tl[0], (tr[1] - tl[1]) / size, (bl[1] - tl[1]) / size, tl[1]];
}
