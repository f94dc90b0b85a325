import { ConfigError, DatasetError, RaganError } from '@ragan/core';
import { detectFaces, type DetectFacesOptions } from '../faces/detect.js';
import type { FaceBox, Point2, RgbImage } from '../faces/image.js';
import { detectWith, type FaceDetector } from '../faces/detectors.js';
import { loadFaceModels, type FaceModelsOptions } from '../faces/models.js';
import { applyAffine, invertAffine, type Affine } from '@ragan/core';
import { ffhqAlignQuad, quadToAffine, type AlignQuad, type FfhqAlignParams } from '@ragan/core';
import { readPhoto, type Photo } from './photo.js';
import { warpAffine, type BorderMode } from '@ragan/core';

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

export interface AlignFacesOptions extends AlignFaceOptions, DetectFacesOptions {
  /**
   * Which detector (default ssd; `blazeface` and `auto` as in `findPhotoFaces`) and landmark net (loaded
   * on first use, cached per process).
   */
  models?: Pick<FaceModelsOptions, 'landmarks' | 'modelDir'> & { detector?: FaceDetector };
}

/** Result of `alignPhoto`: the faces plus the upright photo they refer to. */
export interface AlignedPhoto {
  photo: Photo;
  faces: AlignedFace[];
}

/**
 * Detects every face in `image` and aligns each. Loads the detector and landmark net if needed (uses the
 * active tfjs backend: call initBackend first). Returns `[]` when there is no face; faces best score first.
 */
export async function alignFacesInImage(image: RgbImage, options: AlignFacesOptions = {}): Promise<AlignedFace[]> {
  const { detector = 'ssd', ...models } = options.models ?? {};
  let detected;
  if (detector === 'ssd' || detector === 'tiny') {
    await loadFaceModels({ ...models, detector, age: false, recognition: false });
    detected = await detectFaces(image, options);
  } else {
    await loadFaceModels({ ...models, age: false, recognition: false });
    detected = await detectWith(detector, image, {
      ...(options.minConfidence !== undefined ? { minConfidence: options.minConfidence } : {}),
      ...(options.maxFaces !== undefined ? { maxFaces: options.maxFaces } : {}),
      ...(options.maxPixels !== undefined ? { maxPixels: options.maxPixels } : {}),
      ...(models.landmarks !== undefined ? { landmarks: models.landmarks } : {}),
    });
  }
  return detected.map((f) => {
    const a = alignFace(image, f.landmarks68, options);
    return { ...a, box: f.box, score: f.score, landmarks: f.landmarks68, cropLandmarks: f.landmarks68.map((p) => applyAffine(a.transform, p)) };
  });
}

/** Reads a photo (path or encoded bytes; EXIF orientation honoured), detects and aligns every face. */
export async function alignPhoto(photo: string | Uint8Array, options: AlignFacesOptions = {}): Promise<AlignedPhoto> {
  const p = await readPhoto(photo);
  try {
    return { photo: p, faces: await alignFacesInImage(p.image, options) };
  } catch (e) {
    if (RaganError.isInstance(e)) throw e;
    throw new DatasetError(p.name, `face detection failed (${(e as Error).message})`, { cause: e });
  }
}

/** `alignPhoto(...).faces`: every face of the photo, aligned; `[]` when there is none. */
export async function alignFaces(photo: string | Uint8Array, options: AlignFacesOptions = {}): Promise<AlignedFace[]> {
  return (await alignPhoto(photo, options)).faces;
}
