import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  blazeFacePasses,
  decodeBlazeFace,
  eyeDisagreement,
  faceMeshScore,
  landmarkSquare,
  ModelLoadError,
  type BlazeFaceDetection,
  type BlazeFaceOptions,
} from '@ragan/core';
import { landmarksInBox, onSmallerCopy, type DetectedFace } from './detect.js';
import { rgbToTensor, type Point2, type RgbImage } from './image.js';

/**
 * MediaPipe's BlazeFace in Node: the model files read from @vladmandic/human's `models/` folder, then
 * core's browser-safe decoding (`decodeBlazeFace`, `blazeFacePasses`, the `auto` rule), which the web
 * demo runs too. It finds faces that face-api's SSD misses: rotated, dark, blurred, heavily compressed
 * or filling the frame (bench/detector-recall.ts measures both).
 */
export {
  AUTO_BLAZEFACE_MIN,
  AUTO_EYE_AGREEMENT,
  AUTO_MESH_MIN,
  BLAZEFACE_PAD,
  autoKeepsBlazeFace,
  autoNeedsMesh,
  boxIoU,
  eyeDisagreement,
  mergeDetections,
  type BlazeFaceDetection,
  type BlazeFaceOptions,
} from '@ragan/core';

const require = createRequire(import.meta.url);

/** The folder of @vladmandic/human's models (blazeface.json + blazeface.bin). */
export function blazeFaceModelDir(): string {
  // the package's main entry sits in dist/; its exports do not list package.json
  return join(dirname(dirname(require.resolve('@vladmandic/human'))), 'models');
}

/** Reads one of @vladmandic/human's graph models (`NAME.json` + its one `.bin`) from `modelDir` with fs. */
async function readHumanGraphModel(modelDir: string, name: string, what: string): Promise<tf.GraphModel> {
  const file = join(modelDir, `${name}.json`);
  let json: { modelTopology?: unknown; weightsManifest?: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }> };
  try {
    json = JSON.parse(await readFile(file, 'utf8')) as typeof json;
  } catch (e) {
    throw new ModelLoadError(file, `cannot read the ${what} model (${(e as Error).message}); is @vladmandic/human installed?`, { cause: e });
  }
  const group = json.weightsManifest?.[0];
  if (!json.modelTopology || !group || group.paths.length !== 1 || !/^[\w.-]+\.bin$/.test(group.paths[0]!)) {
    throw new ModelLoadError(file, `not a ${what} graph model (expected a modelTopology and one weights file beside it)`);
  }
  const bin = await readFile(join(modelDir, group.paths[0]!));
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  const handler = tf.io.fromMemory({ modelTopology: json.modelTopology as object, weightSpecs: group.weights, weightData });
  return tf.loadGraphModel(handler);
}

/** A graph model loaded once per process (concurrent first calls share one load). */
function cachedModel(name: string, what: string) {
  let model: tf.GraphModel | undefined;
  let loading: Promise<tf.GraphModel> | undefined;
  return {
    get: () => model,
    async load(modelDir: string): Promise<tf.GraphModel> {
      if (model) return model;
      loading ??= readHumanGraphModel(modelDir, name, what).then((m) => (model = m));
      try {
        return await loading;
      } finally {
        loading = undefined;
      }
    },
    dispose() {
      model?.dispose();
      model = undefined;
    },
  };
}

const blaze = cachedModel('blazeface', 'BlazeFace');
const mesh = cachedModel('facemesh', 'face-mesh');

/** Loads BlazeFace from disk once per process (no network: the model files are read with fs). */
export function loadBlazeFace(modelDir = blazeFaceModelDir()): Promise<tf.GraphModel> {
  return blaze.load(modelDir);
}

/**
 * Loads MediaPipe's face mesh (@vladmandic/human's `facemesh.json`, 1.5 MB) once per process; the `auto`
 * detector asks it about faces BlazeFace is unsure of (core's `faceMeshScore`).
 */
export function loadFaceMesh(modelDir = blazeFaceModelDir()): Promise<tf.GraphModel> {
  return mesh.load(modelDir);
}

/**
 * The face mesh's confidence that `face` (a BlazeFace face of `image`) is a face: core's `faceMeshScore`
 * (which crops around the face itself). `image`: an RgbImage or `[H, W, 3]` tensor of 0..255 (the caller
 * keeps it). Needs `loadFaceMesh()` first.
 */
export async function meshScoreOf(image: RgbImage | tf.Tensor3D, face: { box: DetectedFace['box']; keypoints: readonly Point2[] }): Promise<number> {
  const m = mesh.get();
  if (!m) throw new ModelLoadError('meshScoreOf', 'the face mesh is not loaded; call loadFaceMesh() first');
  const owned = !(image instanceof tf.Tensor);
  const input = owned ? rgbToTensor(image as RgbImage) : (image as tf.Tensor3D);
  try {
    return await faceMeshScore(m, input, face);
  } finally {
    if (owned) input.dispose();
  }
}

/** Releases the model's weights (the next detection loads it again). */
export function disposeBlazeFace(): void {
  blaze.dispose();
  mesh.dispose();
}

/**
 * Finds faces with BlazeFace in one pass (core's `decodeBlazeFace`): the image is padded to a square and
 * resized to 256², so faces smaller than about 1/12 of the image's longer side are missed. `image`: an
 * RgbImage or `[H, W, 3]` tensor of 0..255 (the caller keeps it). Needs `loadBlazeFace()` first. Returns
 * faces best first.
 */
export async function detectBlazeFace(image: RgbImage | tf.Tensor3D, options: BlazeFaceOptions = {}): Promise<BlazeFaceDetection[]> {
  const m = blaze.get();
  if (!m) throw new ModelLoadError('detectBlazeFace', 'BlazeFace is not loaded; call loadBlazeFace() first');
  const owned = !(image instanceof tf.Tensor);
  const input = owned ? rgbToTensor(image as RgbImage) : (image as tf.Tensor3D);
  try {
    return await decodeBlazeFace(m, input, options);
  } finally {
    if (owned) input.dispose();
  }
}

/** A BlazeFace face with face-api's 68 landmarks in its box. */
export interface BlazeDetectedFace extends DetectedFace {
  /** BlazeFace's six keypoints (see BlazeFaceDetection), image pixels. */
  keypoints: Point2[];
  /**
   * How far BlazeFace's two eye keypoints are from the eye centres of the 68 landmarks, on average, in
   * BlazeFace eye distances: two networks that agree where the eyes are (near 0) is evidence of a face
   * that a middling score alone is not. Clothes and furniture BlazeFace scored 0.5-0.71 measured 0.24
   * and more; true faces at those scores mostly under 0.2 (bench/detector-recall.ts).
   */
  eyeDisagreement: number;
  /** Which BlazeFace pass found it (see core's `blazeFacePasses`). */
  pass?: BlazeFaceDetection['pass'];
}

/**
 * BlazeFace's faces with face-api's 68 landmarks (the landmark net on a square 1.1× the BlazeFace box),
 * as `detectFaces` returns them, plus the keypoints and their `eyeDisagreement`. Two passes: the image
 * as it is and padded by `pad` (default BLAZEFACE_PAD; 0: one pass); a face both find is kept once, at
 * its better score. A photo over `maxPixels` is detected on a smaller copy and the results scaled back.
 * Needs `loadBlazeFace()` and `loadFaceModels()` (for the landmark net).
 */
export async function detectFacesBlazeFace(
  image: RgbImage,
  options: BlazeFaceOptions & { maxPixels?: number; pad?: number; tiles?: boolean } = {},
): Promise<BlazeDetectedFace[]> {
  const scaled = await onSmallerCopy(
    image,
    options.maxPixels,
    (small) => detectFacesBlazeFace(small, { ...options, maxPixels: Infinity }),
    (f, scale) => ({ keypoints: f.keypoints.map(scale) }),
  );
  if (scaled) return scaled;
  const m = blaze.get();
  if (!m) throw new ModelLoadError('detectFacesBlazeFace', 'BlazeFace is not loaded; call loadBlazeFace() first');
  // one tensor of the photo for both passes
  const input = rgbToTensor(image);
  let found: BlazeFaceDetection[];
  try {
    found = await blazeFacePasses(m, input, options);
  } finally {
    input.dispose();
  }
  const out: BlazeDetectedFace[] = [];
  for (const f of found) {
    const square = landmarkSquare(f.box);
    if (square.width < 8) continue;
    const landmarks68 = await landmarksInBox(image, square);
    out.push({
      box: f.box,
      score: f.score,
      landmarks68,
      keypoints: f.keypoints,
      eyeDisagreement: eyeDisagreement(f.keypoints, landmarks68),
      ...(f.pass ? { pass: f.pass } : {}),
    });
  }
  return out;
}
