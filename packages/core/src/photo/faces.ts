/**
 * The photo pipeline's face steps, browser-safe (no DOM, no Node): align a face from its 68 landmarks
 * (FFHQ-Aging framing), build its face mask, re-age the crops, paste them back into the photo. `ragan age`
 * (@ragan/data's reagePhoto, around detection and sharp I/O) and the web demo (around canvas conversion)
 * both run these, so the same photo, landmarks and model give the same pixels in Node and the browser.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../errors/index.js';
import { applyAffine, invertAffine, type Affine } from '../geometry/affine.js';
import { ffhqAlignQuad, quadToAffine, type AlignQuad, type FfhqAlignParams } from '../geometry/ffhq.js';
import type { Point2, RgbImage } from '../geometry/image.js';
import { landmarkMask, type LandmarkMaskOptions } from '../geometry/landmark-mask.js';
import { DEFAULT_EDGE_FADE, fadeMaskEdges } from '../geometry/raster.js';
import { pasteBack, warpAffine, type BorderMode } from '../geometry/warp.js';
import { reageFacesAsync, type AgeTargetSpec } from '../inference.js';
import type { Generator } from '../models/generator.js';

/** A face's box in photo pixels. */
export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface AlignFaceOptions extends FfhqAlignParams {
  /** Output side in pixels. Default 256. */
  size?: number;
  /** What fills the crop outside the photo. Default `reflect` (FFHQ). */
  border?: BorderMode;
}

/** One aligned face. Coordinates: see `Affine`. */
export interface AlignedCrop {
  /** `size`×`size` RGB crop. */
  crop: RgbImage;
  /** Photo → crop coordinates. */
  transform: Affine;
  /** Crop → photo coordinates (for `pasteBack`). */
  inverse: Affine;
  /** The crop square in the photo (FFHQ corner order) and its geometry. */
  quad: AlignQuad;
}

/** Aligns one face from its 68 landmarks (photo coordinates), FFHQ-Aging style. Pure: no model needed. */
export function alignFace(image: RgbImage, landmarks68: Point2[], options: AlignFaceOptions = {}): AlignedCrop {
  const size = options.size ?? 256;
  if (!Number.isInteger(size) || size < 8 || size > 4096) throw new ConfigError('size', `must be an integer in [8, 4096], got ${size}`);
  const quad = ffhqAlignQuad(landmarks68, options);
  const inverse = quadToAffine(quad, size);
  const transform = invertAffine(inverse);
  const crop = warpAffine(image, inverse, size, size, options.border ?? 'reflect');
  return { crop, transform, inverse, quad };
}

/** A detected face, aligned. */
export interface AlignedFace extends AlignedCrop {
  /** Detector box in the photo. */
  box: FaceBox;
  /** Detector confidence. */
  score: number;
  /** The 68 landmarks in the photo. */
  landmarks: Point2[];
  /** The same landmarks in crop coordinates. */
  cropLandmarks: Point2[];
}

export interface PhotoFaceOptions extends FfhqAlignParams {
  /**
   * Largest aligned crop side in pixels. Each face is aligned at a whole multiple of the model's
   * resolution close to its own size in the photo (so nothing is lost before the model and the mask is
   * sharp when pasted back), capped here. Default 1024.
   */
  maxCropSize?: number;
  /** The face-region mask built from the landmarks (shape, forehead, feather). Default: the training masks' settings. */
  mask?: LandmarkMaskOptions;
  /** Fade the mask to 0 over this fraction of the crop side at the crop's borders (see fadeMaskEdges). Default DEFAULT_EDGE_FADE (0.15). */
  edgeFade?: number;
}

/** A face found in a photo, aligned for a model. */
export interface PhotoFace extends AlignedFace {
  /** Side of `crop` and `mask`: a whole multiple of the model's resolution. */
  size: number;
  /** Face region in crop pixels (`size`², 0..255), from the landmarks. */
  mask: Uint8Array;
}

/**
 * Aligns one face given its 68 landmarks (from any detector) for a model of `resolution`: the crop side
 * is the multiple of `resolution` nearest the face's crop square in the photo (at least one, at most
 * `maxCropSize`), and the mask is built from the landmarks. Pure: no model needed.
 */
export function photoFace(
  image: RgbImage,
  face: { landmarks68: Point2[]; box?: FaceBox; score?: number },
  resolution: number,
  options: PhotoFaceOptions = {},
): PhotoFace {
  const maxFactor = Math.max(1, Math.floor((options.maxCropSize ?? 1024) / resolution));
  // The crop's side in the photo is 2·halfSide; align near that size so nothing is upsampled for
  // nothing nor thrown away before the area-averaging down to the model (reageFaces).
  const { halfSide } = ffhqAlignQuad(face.landmarks68, options);
  const size = Math.min(maxFactor, Math.max(1, Math.round((2 * halfSide) / resolution))) * resolution;
  const a = alignFace(image, face.landmarks68, { ...options, size });
  const cropLandmarks = face.landmarks68.map((p) => applyAffine(a.transform, p));
  const xs = face.landmarks68.map((p) => p[0]);
  const ys = face.landmarks68.map((p) => p[1]);
  // Without a detector box, the landmarks' bounding box stands in.
  const box = face.box ?? { x: Math.min(...xs), y: Math.min(...ys), width: Math.max(...xs) - Math.min(...xs), height: Math.max(...ys) - Math.min(...ys) };
  const mask = landmarkMask(cropLandmarks, size, options.mask);
  fadeMaskEdges(mask, size, options.edgeFade ?? DEFAULT_EDGE_FADE);
  return { ...a, box, score: face.score ?? 1, landmarks: face.landmarks68, cropLandmarks, size, mask };
}

export interface ReageCropsOptions {
  /** Faces per generator call. Default 8. */
  batchSize?: number;
  /** Keep the photo's fine detail: add the model's change to the crop (see reageFaces). Default false. */
  keepDetail?: boolean;
  /** Blend the result into the crop with the face mask (for showing crops; paste-back blends anyway). Default false. */
  blendWithMask?: boolean;
}

/**
 * Re-ages every face's crop to `target` (`reageFaces`): returns one RgbImage per face at the face's
 * `size`. No tensor outlives the call.
 */
export async function reageCrops(
  generator: Generator,
  faces: readonly PhotoFace[],
  target: AgeTargetSpec,
  options: ReageCropsOptions = {},
): Promise<RgbImage[]> {
  return (await reageCropsToTargets(generator, faces, [target], options))[0]!;
}

/**
 * `reageCrops` for several targets, uploading each crop once: returns `[target][face]`.
 * No tensor outlives the call.
 */
export async function reageCropsToTargets(
  generator: Generator,
  faces: readonly PhotoFace[],
  targets: readonly AgeTargetSpec[],
  options: ReageCropsOptions = {},
): Promise<RgbImage[][]> {
  if (faces.length === 0) return targets.map(() => []);
  const crops = faces.map((f) => tf.tidy(() => tf.sub(tf.div(tf.tensor3d(f.crop.data, [f.size, f.size, 3], 'float32'), 127.5), 1) as tf.Tensor3D));
  const masks = faces.map((f) => tf.tidy(() => tf.div(tf.tensor3d(f.mask, [f.size, f.size, 1], 'float32'), 255) as tf.Tensor3D));
  try {
    const all: RgbImage[][] = [];
    for (const target of targets) {
      const outs = await reageFacesAsync(generator, crops, masks, target, options);
      try {
        const images: RgbImage[] = [];
        for (const [i, o] of outs.entries()) {
          const bytes = tf.tidy(() => tf.clipByValue(tf.round(tf.mul(tf.add(o, 1), 127.5)), 0, 255).toInt());
          try {
            images.push({ data: Uint8Array.from(await bytes.data()), width: faces[i]!.size, height: faces[i]!.size });
          } finally {
            bytes.dispose();
          }
        }
        all.push(images);
      } finally {
        tf.dispose(outs);
      }
    }
    return all;
  } finally {
    tf.dispose([...crops, ...masks]);
  }
}

export interface PasteFacesOptions {
  /** Feather radius as a fraction of each crop's side. Default 0.02 (pasteBack's default). */
  feather?: number;
}

/**
 * Pastes re-aged crops back into the photo through each face's inverse transform, blended with its
 * landmark mask feathered by `feather`. Pixels outside every feathered mask keep their exact values.
 * Returns a new image.
 */
export function pasteFaces(photo: RgbImage, faces: readonly PhotoFace[], crops: readonly RgbImage[], options: PasteFacesOptions = {}): RgbImage {
  if (crops.length !== faces.length) throw new ConfigError('crops', `${faces.length} faces need as many crops, got ${crops.length}`);
  const feather = options.feather ?? 0.02;
  if (!(feather >= 0 && feather <= 0.5)) throw new ConfigError('feather', `must be in [0, 0.5] (a fraction of the crop side), got ${feather}`);
  let out = photo;
  faces.forEach((f, i) => {
    out = pasteBack(out, crops[i]!, f.inverse, f.mask, { feather: feather * f.size });
  });
  return out === photo ? { ...photo, data: photo.data.slice() } : out;
}
