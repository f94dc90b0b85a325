import { DatasetError } from '@ragan/core';
import type { MaskMeta, MaskProvider, MaskResult } from '../masks/types.js';
import { detectFaces, type DetectFacesOptions } from './detect.js';
import type { RgbImage } from './image.js';
import { landmarkMask, type LandmarkMaskOptions } from '@ragan/core';
import { loadFaceModels, type FaceModelsOptions } from './models.js';

/** No face was found where one was expected; `path` names the image. */
export class NoFaceError extends DatasetError {
  readonly noFace = true;
  constructor(path: string, message = 'no face found') {
    super(path, message);
    this.name = 'NoFaceError';
  }
}

export interface LandmarkMaskProviderOptions extends LandmarkMaskOptions {
  /** Detection settings. Defaults suit tight, already aligned crops (UTKFace 200×200 chips): pad 1 (the
   * face then fills a third of the frame, as SSD expects; found 40/40 UTKFace chips vs 36/40 at pad 0.5) and minConfidence 0.3. */
  detect?: DetectFacesOptions;
  /** Which detector / landmark net. Default SSD + full landmarks. */
  models?: Pick<FaceModelsOptions, 'detector' | 'landmarks' | 'modelDir'>;
}

/**
 * A MaskProvider (masks/types.ts) that detects the face and returns `landmarkMask` of it
 * (source `landmarks`). With several faces it takes the largest detector box (a sample is one face).
 * Rejects with a NoFaceError when there is none, so the chain falls back to the elliptical prior.
 * Loads the face models on first use (uses the active tfjs backend; call initBackend first).
 */
export function landmarkMaskProvider(options: LandmarkMaskProviderOptions = {}): MaskProvider {
  const detect: DetectFacesOptions = { pad: 1, minConfidence: 0.3, ...options.detect };
  return async (image: RgbImage, meta: MaskMeta): Promise<MaskResult> => {
    await loadFaceModels({ ...options.models, age: false, recognition: false });
    const faces = await detectFaces(image, detect);
    if (faces.length === 0) throw new NoFaceError(meta?.path ?? meta?.file ?? '<image>', 'no face found by the landmark detector');
    const face = faces.reduce((a, b) => (b.box.width * b.box.height > a.box.width * a.box.height ? b : a));
    return { mask: landmarkMask(face.landmarks68, { width: image.width, height: image.height }, options), source: 'landmarks' };
  };
}
