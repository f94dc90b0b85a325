import { autoDetect } from '@ragan/core';
import { detectFacesBlazeFace, loadBlazeFace, loadFaceMesh } from './blazeface.js';
import { detectFaces, landmarksInBox, onSmallerCopy, type DetectedFace } from './detect.js';
import { rgbToTensor, type Point2, type RgbImage } from './image.js';
import { loadFaceModels } from './models.js';

/** The face detectors of the photo pipeline (`ragan age`, `demo`, `align`). */
export type FaceDetector = 'ssd' | 'tiny' | 'blazeface' | 'auto';
export const FACE_DETECTORS: readonly FaceDetector[] = ['auto', 'ssd', 'tiny', 'blazeface'];

// The `auto` rule and its thresholds live in @ragan/core (browser-safe, shared with the web demo).
export { AUTO_BLAZEFACE_MIN, AUTO_EYE_AGREEMENT, AUTO_MESH_MIN } from '@ragan/core';

export interface DetectWithOptions {
  /** Minimum confidence. Default 0.5 (BlazeFace-only faces of `auto`: at least AUTO_BLAZEFACE_MIN). */
  minConfidence?: number;
  /** At most this many faces, best first. Default 100. */
  maxFaces?: number;
  /** Detect on a copy scaled down to at most this many pixels (see detectFaces). */
  maxPixels?: number;
  /** face-api's landmark net (default full). */
  landmarks?: 'full' | 'tiny';
}

/**
 * Every face of `image` with its 68 landmarks, by one of the pipeline's detectors: `ssd` or `tiny`
 * (face-api), `blazeface` (MediaPipe, on the image and on a padded copy; landmarks from face-api's net in
 * its box) or `auto` (SSD's faces plus those only BlazeFace finds at ≥ max(minConfidence,
 * AUTO_BLAZEFACE_MIN), or at ≥ minConfidence with eyes that face-api's landmarks agree on within
 * AUTO_EYE_AGREEMENT, or that MediaPipe's face mesh calls a face with ≥ AUTO_MESH_MIN; core's
 * `autoKeepsBlazeFace`). Loads what it needs on first use (cached per process). Best score first.
 */
export async function detectWith(detector: FaceDetector, image: RgbImage, options: DetectWithOptions = {}): Promise<DetectedFace[]> {
  const minConfidence = options.minConfidence ?? 0.5;
  const common = {
    ...(options.maxFaces !== undefined ? { maxFaces: options.maxFaces } : {}),
    ...(options.maxPixels !== undefined ? { maxPixels: options.maxPixels } : {}),
  };
  await loadFaceModels({ detector: detector === 'tiny' ? 'tiny' : 'ssd', landmarks: options.landmarks ?? 'full', age: false, recognition: false });
  if (detector === 'ssd' || detector === 'tiny') return detectFaces(image, { ...common, minConfidence });
  await loadBlazeFace();
  if (detector === 'blazeface') return detectFacesBlazeFace(image, { ...common, minConfidence });
  // the rule and its order of work are core's `autoDetect` (the web demo runs the same); a big photo is
  // detected on a smaller copy, as each detector alone does
  const scaled = await onSmallerCopy<DetectedFace & { keypoints?: Point2[] }>(
    image,
    options.maxPixels,
    (small) => detectWith('auto', small, { ...options, maxPixels: Infinity }),
    (f, scale) => (f.keypoints ? { keypoints: f.keypoints.map(scale) } : {}),
  );
  if (scaled) return scaled;
  const blazeFace = await loadBlazeFace();
  const input = rgbToTensor(image);
  try {
    return await autoDetect(
      input,
      {
        ssd: () => detectFaces(input, { ...common, maxPixels: Infinity, minConfidence }),
        blazeFace,
        faceMesh: () => loadFaceMesh(),
        landmarksInBox: (box) => landmarksInBox(input, box),
      },
      { minConfidence, ...(options.maxFaces !== undefined ? { maxFaces: options.maxFaces } : {}) },
    );
  } finally {
    input.dispose();
  }
}
