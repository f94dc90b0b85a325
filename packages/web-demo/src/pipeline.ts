/**
 * The photo → re-aged photo pipeline, without the DOM: align each face (FFHQ-Aging crop at the model's
 * resolution), build its face mask from the landmarks, re-age all faces in one batch, paste each result
 * back into the photo through a feathered mask. Runs in the browser and (for the unit tests) in Node.
 */
import * as tf from '@tensorflow/tfjs';
import { reage, ShapeError, type Generator } from '@ragan/core';
import {
  applyAffine,
  ffhqAlignQuad,
  invertAffine,
  fadeMaskEdges,
  DEFAULT_EDGE_FADE,
  landmarkMask,
  landmarkMaskPolygon,
  pasteBack,
  quadToAffine,
  warpAffine,
  type Affine,
  type AlignQuad,
  type FfhqAlignParams,
  type Point2,
  type RgbImage,
} from '@ragan/core';

/** One face, aligned for the generator. */
export interface PreparedFace {
  /** The 68 landmarks in photo pixels. */
  landmarks: Point2[];
  /** The aligned crop, `resolution`×`resolution`. */
  crop: RgbImage;
  /** Crop → photo coordinates (what pasteBack takes). */
  cropToPhoto: Affine;
  /** The crop square in the photo. */
  quad: AlignQuad;
  /** Face-region mask in crop pixels (`resolution²` bytes, 255 = face), from the landmarks. */
  mask: Uint8Array;
  /** The face-region polygon in photo pixels (what the mask fills), for overlays and tests. */
  region: Point2[];
}

/**
 * Aligns one face from its 68 landmarks (photo pixels) to a `resolution`² crop and builds its mask.
 * `alignment` is the model's framing (`generator.config.alignment`; default FFHQ-Aging).
 */
export function prepareFace(photo: RgbImage, landmarks68: Point2[], resolution: number, alignment: FfhqAlignParams = {}): PreparedFace {
  const quad = ffhqAlignQuad(landmarks68, alignment);
  const cropToPhoto = quadToAffine(quad, resolution);
  const photoToCrop = invertAffine(cropToPhoto);
  const crop = warpAffine(photo, cropToPhoto, resolution, resolution, 'reflect');
  const cropLandmarks = landmarks68.map((p) => applyAffine(photoToCrop, p));
  return {
    landmarks: landmarks68,
    crop,
    cropToPhoto,
    quad,
    // as `ragan age`: fade to 0 at the crop borders (tight framings cut the forehead part of the mask)
    mask: fadeMaskEdges(landmarkMask(cropLandmarks, resolution), resolution, DEFAULT_EDGE_FADE),
    region: landmarkMaskPolygon(landmarks68),
  };
}

/** 8-bit RGB → [1, H, W, 3] float in [-1, 1]. */
function toModelRange(img: RgbImage): tf.Tensor4D {
  return tf.tidy(() => tf.tensor4d(Float32Array.from(img.data), [1, img.height, img.width, 3]).div(127.5).sub(1) as tf.Tensor4D);
}

export interface AgedFaces {
  /** One re-aged crop per face, same order, `resolution`². */
  crops: RgbImage[];
  /** Milliseconds for the generator on the whole batch, data read back included. */
  ms: number;
}

/**
 * Re-ages the crops to a continuous `age` (CBN blending of the two neighbouring groups) in one batch.
 * Nothing is disposed that the caller owns; every tensor made here is released.
 */
export async function ageFaces(generator: Generator, faces: readonly PreparedFace[], age: number): Promise<AgedFaces> {
  if (faces.length === 0) return { crops: [], ms: 0 };
  const res = generator.config.resolution;
  for (const f of faces) {
    if (f.crop.width !== res || f.crop.height !== res) throw new ShapeError(`ageFaces: crops must be ${res}×${res}, got ${f.crop.width}×${f.crop.height}`);
  }
  const images = tf.tidy(() => tf.concat(faces.map((f) => toModelRange(f.crop))) as tf.Tensor4D);
  const masks = tf.tidy(() => {
    const all = new Float32Array(faces.length * res * res);
    faces.forEach((f, i) => {
      for (let j = 0; j < f.mask.length; j++) all[i * res * res + j] = f.mask[j]! / 255;
    });
    return tf.tensor4d(all, [faces.length, res, res, 1]);
  });
  const t0 = performance.now();
  let bytes: Uint8Array;
  try {
    const out = reage(generator, images, masks, { age });
    const rgb = tf.tidy(() => out.add(1).mul(127.5).round().clipByValue(0, 255).toInt());
    out.dispose();
    try {
      bytes = Uint8Array.from(await rgb.data());
    } finally {
      rgb.dispose();
    }
  } finally {
    tf.dispose([images, masks]);
  }
  const ms = performance.now() - t0;
  const n = res * res * 3;
  return { crops: faces.map((_, i) => ({ data: bytes.slice(i * n, (i + 1) * n), width: res, height: res })), ms };
}

/** Pastes each re-aged crop back into a copy of `photo` through its feathered face mask. */
export function composite(photo: RgbImage, faces: readonly PreparedFace[], aged: readonly RgbImage[]): RgbImage {
  if (aged.length !== faces.length) throw new ShapeError(`composite: ${faces.length} faces but ${aged.length} crops`);
  let out = photo;
  faces.forEach((f, i) => {
    out = pasteBack(out, aged[i]!, f.cropToPhoto, f.mask);
  });
  return out === photo ? { data: photo.data.slice(), width: photo.width, height: photo.height } : out;
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
