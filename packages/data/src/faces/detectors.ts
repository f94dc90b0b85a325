import { detectFacesBlazeFace, loadBlazeFace, mergeDetections } from './blazeface.js';
import { detectFaces, type DetectedFace } from './detect.js';
import type { RgbImage } from './image.js';
import { loadFaceModels } from './models.js';

/** The face detectors of the photo pipeline (`ragan age`, `demo`, `align`). */
export type FaceDetector = 'ssd' | 'tiny' | 'blazeface' | 'auto';
export const FACE_DETECTORS: readonly FaceDetector[] = ['auto', 'ssd', 'tiny', 'blazeface'];

/**
 * The `auto` detector keeps a face that only BlazeFace found at this score or above: on images without
 * faces (tiles of face-api's sample photos away from the people) BlazeFace scored clothes, a door lock and
 * a sofa 0.50-0.71 (bench/detector-recall.ts).
 */
export const AUTO_BLAZEFACE_MIN = 0.75;

/**
 * Below AUTO_BLAZEFACE_MIN (down to `minConfidence`), `auto` keeps a BlazeFace-only face whose eye
 * keypoints agree with face-api's landmark net this well (`eyeDisagreement`, in eye distances). Chosen on
 * the hard-case set's first sample, where every false candidate measured 0.24 or more, and checked on a
 * second, disjoint sample (README, "Finding faces").
 */
export const AUTO_EYE_AGREEMENT = 0.2;

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
 * AUTO_EYE_AGREEMENT). Loads what it needs on first use (cached per process). Best score first.
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
  const blazeMin = Math.max(minConfidence, AUTO_BLAZEFACE_MIN);
  const ssd = await detectFaces(image, { ...common, minConfidence });
  const blaze = await detectFacesBlazeFace(image, { ...common, minConfidence });
  const merged = mergeDetections(ssd, blaze, (b) => b.score >= blazeMin || b.eyeDisagreement <= AUTO_EYE_AGREEMENT);
  return options.maxFaces !== undefined ? merged.slice(0, options.maxFaces) : merged;
}
