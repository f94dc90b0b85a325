import { z } from 'zod';
import { DatasetError } from '@ragan/core';
import type { Point2 } from '../faces/image.js';
import type { Affine } from '@ragan/core';
import type { AlignedPhoto } from './align-faces.js';
import { DEFAULT_FFHQ_ALIGN, type FfhqAlignParams } from '@ragan/core';
import type { FaceDetector } from '../faces/detectors.js';

const point = z.tuple([z.number(), z.number()]);
const affine = z.tuple([z.number(), z.number(), z.number(), z.number(), z.number(), z.number()]);

/** `faces.json` written by `ragan align`, version 1. */
export const facesJsonSchema = z.object({
  format: z.literal('ragan-faces'),
  version: z.literal(1),
  photo: z.object({
    path: z.string(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    orientation: z.number().int().min(1).max(8),
    storedWidth: z.number().int().positive(),
    storedHeight: z.number().int().positive(),
  }),
  size: z.number().int().positive(),
  detector: z.enum(['ssd', 'tiny', 'blazeface', 'auto']),
  alignment: z.object({ method: z.literal('ffhq-aging'), eyeToEyeScale: z.number(), eyeToMouthScale: z.number(), centreShift: z.number() }),
  coordinates: z.string(),
  faces: z.array(
    z.object({
      index: z.number().int().nonnegative(),
      file: z.string().regex(/^face-\d+\.png$/),
      score: z.number(),
      box: z.object({ x: z.number(), y: z.number(), width: z.number(), height: z.number() }),
      landmarks: z.array(point).length(68),
      cropLandmarks: z.array(point).length(68),
      transform: affine,
      inverse: affine,
      quad: z.array(point).length(4),
      angleDegrees: z.number(),
    }),
  ),
});

export type FacesJson = z.output<typeof facesJsonSchema>;

const COORDINATES =
  'pixels, x right, y down, pixel (i, j) covers [i, i+1) x [j, j+1); photo coordinates are of the upright photo (EXIF orientation applied). ' +
  'transform maps photo -> crop, inverse maps crop -> photo, both [a, b, c, d, e, f]: (x, y) -> (a x + b y + c, d x + e y + f).';

const r3 = (v: number) => Math.round(v * 1000) / 1000;
const pt = (p: Point2): [number, number] => [r3(p[0]), r3(p[1])];
const aff = (m: Affine): Affine => m.map((v) => Number(v.toPrecision(12))) as Affine;

/** The `faces.json` record of an aligned photo (face i is stored as `face-<i>.png`). */
export function toFacesJson(photoPath: string, result: AlignedPhoto, options: { size: number; detector: FaceDetector } & FfhqAlignParams): FacesJson {
  const { photo, faces } = result;
  return {
    format: 'ragan-faces',
    version: 1,
    photo: {
      path: photoPath,
      width: photo.image.width,
      height: photo.image.height,
      orientation: photo.orientation,
      storedWidth: photo.storedWidth,
      storedHeight: photo.storedHeight,
    },
    size: options.size,
    detector: options.detector,
    alignment: {
      method: 'ffhq-aging',
      eyeToEyeScale: options.eyeToEyeScale ?? DEFAULT_FFHQ_ALIGN.eyeToEyeScale,
      eyeToMouthScale: options.eyeToMouthScale ?? DEFAULT_FFHQ_ALIGN.eyeToMouthScale,
      centreShift: options.centreShift ?? DEFAULT_FFHQ_ALIGN.centreShift,
    },
    coordinates: COORDINATES,
    faces: faces.map((f, i) => ({
      index: i,
      file: `face-${i}.png`,
      score: r3(f.score),
      box: { x: r3(f.box.x), y: r3(f.box.y), width: r3(f.box.width), height: r3(f.box.height) },
      landmarks: f.landmarks.map(pt),
      cropLandmarks: f.cropLandmarks.map(pt),
      transform: aff(f.transform),
      inverse: aff(f.inverse),
      quad: f.quad.quad.map(pt),
      angleDegrees: r3((f.quad.angle * 180) / Math.PI),
    })),
  };
}

/** Parses and validates a `faces.json` text; DatasetError naming `path` and the bad field otherwise. */
export function parseFacesJson(text: string, path: string): FacesJson {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new DatasetError(path, `not valid JSON (${(e as Error).message})`, { cause: e });
  }
  const r = facesJsonSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new DatasetError(path, `not a ragan faces.json: ${issue.path.join('.') || '(root)'}: ${issue.message}`, { cause: r.error });
  }
  return r.data;
}
