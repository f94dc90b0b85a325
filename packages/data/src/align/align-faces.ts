import { DatasetError, RaganError } from '@ragan/core';
import { detectFaces, type DetectFacesOptions } from '../faces/detect.js';
import type { RgbImage } from '../faces/image.js';
import { detectWith, type FaceDetector } from '../faces/detectors.js';
import { loadFaceModels, type FaceModelsOptions } from '../faces/models.js';
import { alignFace, applyAffine, type AlignedFace, type AlignFaceOptions } from '@ragan/core';
import { readPhoto, type Photo } from './photo.js';

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
