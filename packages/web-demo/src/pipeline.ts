/**
 * The demo's photo pipeline around @ragan/core's (photoFace, reageCrops, pasteFaces): the same steps and
 * options as `ragan age` (@ragan/data's reagePhoto), so the same photo, landmarks and model give the same
 * pixels; only the canvas conversion is the demo's own. Runs in the browser and (for the tests) in Node.
 */
import {
  landmarkMaskPolygon,
  pasteFaces,
  photoFace,
  reageCrops,
  ShapeError,
  type FaceBox,
  type Generator,
  type PhotoFace,
  type Point2,
  type RgbImage,
} from '@ragan/core';

/** What `ragan age` does by default, and so the demo: keep the photo's detail (the model's change is added to the crop). */
export const DEMO_REAGE_OPTIONS = { keepDetail: true } as const;

/** One face of the photo, aligned for the generator (`photoFace`), with its face-region polygon for overlays. */
export interface PreparedFace extends PhotoFace {
  /** The face-region polygon in photo pixels (what the mask fills). */
  region: Point2[];
}

/** Aligns every detected face for the generator, with the generator's framing (`config.alignment`). */
export function prepareFaces(
  generator: Generator,
  photo: RgbImage,
  found: ReadonlyArray<{ landmarks68: Point2[]; box?: FaceBox; score?: number }>,
): PreparedFace[] {
  return found.map((f) => ({
    ...photoFace(photo, f, generator.config.resolution, { ...generator.config.alignment }),
    region: landmarkMaskPolygon(f.landmarks68),
  }));
}

export interface AgedPhoto {
  /** The photo with every face re-aged. */
  image: RgbImage;
  /** One re-aged crop per face, same order, at the face's crop size. */
  crops: RgbImage[];
  /** Milliseconds for the generator on all faces, data read back included. */
  ms: number;
}

/** Re-ages every face to a continuous `age` (CBN blending of the two neighbouring groups) and pastes them back. */
export async function agePhoto(generator: Generator, photo: RgbImage, faces: readonly PreparedFace[], age: number): Promise<AgedPhoto> {
  if (!Number.isFinite(age)) throw new ShapeError(`agePhoto: age must be a number, got ${age}`);
  const t0 = performance.now();
  const crops = await reageCrops(generator, faces, { age }, DEMO_REAGE_OPTIONS);
  const ms = performance.now() - t0;
  return { image: pasteFaces(photo, faces, crops), crops, ms };
}

/** RGBA (canvas ImageData) → RgbImage. */
export function rgbaToRgb(rgba: Uint8ClampedArray | Uint8Array, width: number, height: number): RgbImage {
  if (rgba.length !== width * height * 4) throw new ShapeError(`rgbaToRgb: expected ${width * height * 4} bytes, got ${rgba.length}`);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < data.length; i += 3, j += 4) {
    data[i] = rgba[j]!;
    data[i + 1] = rgba[j + 1]!;
    data[i + 2] = rgba[j + 2]!;
  }
  return { data, width, height };
}

/** RgbImage → opaque RGBA bytes (for `new ImageData`). */
export function rgbToRgba(img: RgbImage): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(new ArrayBuffer(img.width * img.height * 4));
  for (let i = 0, j = 0; i < img.data.length; i += 3, j += 4) {
    out[j] = img.data[i]!;
    out[j + 1] = img.data[i + 1]!;
    out[j + 2] = img.data[i + 2]!;
    out[j + 3] = 255;
  }
  return out;
}

/** Largest side a photo is scaled down to before processing (keeps detection and paste-back fast). */
export const MAX_PHOTO_SIDE = 2048;

/** The size a `width`×`height` photo is drawn at: unchanged when it fits in `max`, else scaled down. */
export function fitSize(width: number, height: number, max = MAX_PHOTO_SIDE): { width: number; height: number } {
  const s = Math.min(1, max / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * s)), height: Math.max(1, Math.round(height * s)) };
}
