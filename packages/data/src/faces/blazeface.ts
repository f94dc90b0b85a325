import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { meanPoint, ModelLoadError, ShapeError } from '@ragan/core';
import { landmarksInBox, onSmallerCopy, type DetectedFace } from './detect.js';
import { padGrey, rgbToTensor, type FaceBox, type Point2, type RgbImage } from './image.js';

/**
 * MediaPipe's BlazeFace, full-range ("back") model: 256×256 input, 896 anchors, a box and six keypoints
 * (eyes, nose tip, mouth, ear tragions) per anchor. Google's model (Apache-2.0), as converted to a
 * TensorFlow.js graph model by @vladmandic/human (MIT), whose `models/` folder ships it (540 kB).
 * It finds faces that face-api's SSD misses: rotated, dark, blurred, heavily compressed or filling the
 * frame (bench/detector-recall.ts measures both).
 */

const require = createRequire(import.meta.url);
const INPUT = 256;
/** Anchor layout of the 256² model: a 16×16 grid with 2 anchors per cell, then an 8×8 grid with 6. */
const GRIDS = [
  { stride: 16, perCell: 2 },
  { stride: 32, perCell: 6 },
] as const;

/** The folder of @vladmandic/human's models (blazeface.json + blazeface.bin). */
export function blazeFaceModelDir(): string {
  // the package's main entry sits in dist/; its exports do not list package.json
  return join(dirname(dirname(require.resolve('@vladmandic/human'))), 'models');
}

let model: tf.GraphModel | undefined;
let loading: Promise<tf.GraphModel> | undefined;

/** Loads BlazeFace from disk once per process (no network: the model files are read with fs). */
export async function loadBlazeFace(modelDir = blazeFaceModelDir()): Promise<tf.GraphModel> {
  if (model) return model;
  loading ??= (async () => {
    const file = join(modelDir, 'blazeface.json');
    let json: { modelTopology?: unknown; weightsManifest?: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }> };
    try {
      json = JSON.parse(await readFile(file, 'utf8')) as typeof json;
    } catch (e) {
      throw new ModelLoadError(file, `cannot read the BlazeFace model (${(e as Error).message}); is @vladmandic/human installed?`, { cause: e });
    }
    const group = json.weightsManifest?.[0];
    if (!json.modelTopology || !group || group.paths.length !== 1 || !/^[\w.-]+\.bin$/.test(group.paths[0]!)) {
      throw new ModelLoadError(file, 'not a BlazeFace graph model (expected a modelTopology and one weights file beside it)');
    }
    const bin = await readFile(join(modelDir, group.paths[0]!));
    const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
    const handler = tf.io.fromMemory({ modelTopology: json.modelTopology as object, weightSpecs: group.weights, weightData });
    const m = await tf.loadGraphModel(handler);
    model = m;
    return m;
  })();
  try {
    return await loading;
  } finally {
    loading = undefined;
  }
}

/** Releases the model's weights (the next detection loads it again). */
export function disposeBlazeFace(): void {
  model?.dispose();
  model = undefined;
}

let anchorCache: Float32Array | undefined;
/** Anchor centres `[x0, y0, x1, y1, …]` in input pixels, in the model's output order. */
function anchors(): Float32Array {
  if (anchorCache) return anchorCache;
  const out: number[] = [];
  for (const { stride, perCell } of GRIDS) {
    const cells = INPUT / stride;
    for (let y = 0; y < cells; y++) {
      for (let x = 0; x < cells; x++) {
        for (let k = 0; k < perCell; k++) out.push(stride * (x + 0.5), stride * (y + 0.5));
      }
    }
  }
  anchorCache = Float32Array.from(out);
  return anchorCache;
}

export interface BlazeFaceDetection {
  /** Face box in image pixels. */
  box: FaceBox;
  /** Detector confidence in [0, 1]. */
  score: number;
  /** Right eye, left eye, nose tip, mouth centre, right ear tragion, left ear tragion (the person's right/left), image pixels. */
  keypoints: Point2[];
}

export interface BlazeFaceOptions {
  /** Minimum score. Default 0.5. */
  minConfidence?: number;
  /** At most this many faces, best first. Default 100. */
  maxFaces?: number;
  /** Boxes overlapping a better one by more than this IoU are dropped. Default 0.3. */
  iouThreshold?: number;
}

/**
 * Finds faces with BlazeFace. The image is padded to a square (black, right and bottom) and resized to
 * 256², so faces smaller than about 1/12 of the image's longer side are missed (face-api's SSD, at 512,
 * finds smaller ones). `image`: an RgbImage or `[H, W, 3]` tensor of 0..255 (the caller keeps it).
 * Needs `loadBlazeFace()` first. Returns faces best first.
 */
export async function detectBlazeFace(image: RgbImage | tf.Tensor3D, options: BlazeFaceOptions = {}): Promise<BlazeFaceDetection[]> {
  const m = model;
  if (!m) throw new ModelLoadError('detectBlazeFace', 'BlazeFace is not loaded; call loadBlazeFace() first');
  const minConfidence = options.minConfidence ?? 0.5;
  const maxFaces = options.maxFaces ?? 100;
  const owned = !(image instanceof tf.Tensor);
  const input = owned ? rgbToTensor(image as RgbImage) : (image as tf.Tensor3D);
  if (input.rank !== 3 || input.shape[2] !== 3) throw new ShapeError(`detectBlazeFace: expected an [H, W, 3] image tensor, got [${input.shape.join(', ')}]`);
  const [h, w] = input.shape;
  const side = Math.max(h, w);
  const scale = side / INPUT;
  let raw: { boxes: Float32Array; scores: Float32Array };
  try {
    const [boxes, scores] = tf.tidy(() => {
      const square = tf.pad(tf.cast(input, 'float32'), [
        [0, side - h],
        [0, side - w],
        [0, 0],
      ]);
      const x = tf.sub(tf.div(tf.image.resizeBilinear(square as tf.Tensor3D, [INPUT, INPUT]), 127.5), 1).expandDims(0);
      const [s512, s384, b512, b384] = m.execute(x, ['Identity', 'Identity_1', 'Identity_2', 'Identity_3']) as tf.Tensor[];
      return [
        tf.concat([b512!.reshape([-1, 16]), b384!.reshape([-1, 16])]),
        tf.sigmoid(tf.clipByValue(tf.concat([s512!.reshape([-1]), s384!.reshape([-1])]), -100, 100)),
      ];
    });
    try {
      raw = { boxes: (await boxes.data()) as Float32Array, scores: (await scores.data()) as Float32Array };
    } finally {
      tf.dispose([boxes, scores]);
    }
  } finally {
    if (owned) input.dispose();
  }
  const a = anchors();
  const n = raw.scores.length;
  if (n * 2 !== a.length) throw new ShapeError(`detectBlazeFace: the model gave ${n} anchors, expected ${a.length / 2}`);
  const cand: number[] = [];
  for (let i = 0; i < n; i++) if (raw.scores[i]! >= minConfidence) cand.push(i);
  if (cand.length === 0) return [];
  // corners [y1, x1, y2, x2] in input pixels, for non-max suppression
  const corners = new Float32Array(cand.length * 4);
  cand.forEach((i, j) => {
    const r = raw.boxes.subarray(i * 16, i * 16 + 16);
    const cx = a[2 * i]! + r[0]!;
    const cy = a[2 * i + 1]! + r[1]!;
    corners.set([cy - r[3]! / 2, cx - r[2]! / 2, cy + r[3]! / 2, cx + r[2]! / 2], j * 4);
  });
  const kept = tf.tidy(() =>
    tf.image.nonMaxSuppression(
      tf.tensor2d(corners, [cand.length, 4]),
      tf.tensor1d(cand.map((i) => raw.scores[i]!)),
      maxFaces,
      options.iouThreshold ?? 0.3,
      minConfidence,
    ),
  );
  const keep = await kept.data();
  kept.dispose();
  const out: BlazeFaceDetection[] = [];
  for (const j of keep) {
    const i = cand[j]!;
    const r = raw.boxes.subarray(i * 16, i * 16 + 16);
    const [y1, x1, y2, x2] = corners.subarray(j * 4, j * 4 + 4) as unknown as [number, number, number, number];
    const keypoints: Point2[] = [];
    for (let k = 0; k < 6; k++) keypoints.push([(a[2 * i]! + r[4 + 2 * k]!) * scale, (a[2 * i + 1]! + r[5 + 2 * k]!) * scale]);
    out.push({ box: { x: x1 * scale, y: y1 * scale, width: (x2 - x1) * scale, height: (y2 - y1) * scale }, score: raw.scores[i]!, keypoints });
  }
  // a face centred in the padding is not in the image
  return out.filter((f) => f.box.x + f.box.width / 2 < w && f.box.y + f.box.height / 2 < h).sort((p, q) => q.score - p.score);
}

/**
 * How much of the image's larger side `detectFacesBlazeFace` pads it by (mid-grey, every side) for its
 * second pass. BlazeFace's full-range model was trained on faces that fill a small part of the frame: a
 * face that fills the image (a tight crop, a selfie) scores far lower than the same face with room
 * around it. On the hard-case set (bench/detector-recall.ts), SSD plus BlazeFace at a 0.75 score found 69 %
 * of the faces with one pass and 94 % with both (JPEG quality 8: 10 % → 83 %), with no false face added
 * on images without one.
 */
export const BLAZEFACE_PAD = 0.5;

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
}

const dist = (p: Point2, q: Point2) => Math.hypot(p[0] - q[0], p[1] - q[1]);

/** `eyeDisagreement` of BlazeFace's keypoints against 68 landmarks (either eye order: the networks name sides differently). */
export function eyeDisagreement(keypoints: readonly Point2[], landmarks68: readonly Point2[]): number {
  const [k0, k1] = [keypoints[0]!, keypoints[1]!];
  const e0 = meanPoint(landmarks68.slice(36, 42));
  const e1 = meanPoint(landmarks68.slice(42, 48));
  const eyeDist = Math.max(1e-6, dist(k0, k1));
  return Math.min(dist(k0, e0) + dist(k1, e1), dist(k0, e1) + dist(k1, e0)) / 2 / eyeDist;
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
  options: BlazeFaceOptions & { maxPixels?: number; pad?: number } = {},
): Promise<BlazeDetectedFace[]> {
  const scaled = await onSmallerCopy(image, options.maxPixels, (small) => detectFacesBlazeFace(small, { ...options, maxPixels: Infinity }));
  if (scaled) return scaled as BlazeDetectedFace[];
  const padFrac = options.pad ?? BLAZEFACE_PAD;
  if (!(padFrac >= 0 && padFrac <= 2)) throw new ShapeError(`detectFacesBlazeFace: pad must be in [0, 2], got ${padFrac}`);
  const pad = Math.round(padFrac * Math.max(image.width, image.height));
  // one tensor of the photo for both passes
  const input = rgbToTensor(image);
  const found: BlazeFaceDetection[] = [];
  try {
    found.push(...(await detectBlazeFace(input, options)));
    if (pad > 0) {
      const padded = padGrey(input, pad);
      try {
        for (const f of await detectBlazeFace(padded, options)) {
          const box = { ...f.box, x: f.box.x - pad, y: f.box.y - pad };
          const cx = box.x + box.width / 2;
          const cy = box.y + box.height / 2;
          if (cx < 0 || cy < 0 || cx >= image.width || cy >= image.height) continue;
          found.push({ box, score: f.score, keypoints: f.keypoints.map(([x, y]): Point2 => [x - pad, y - pad]) });
        }
      } finally {
        padded.dispose();
      }
    }
  } finally {
    input.dispose();
  }
  // one face per place across the two passes: the better score wins
  const kept: BlazeFaceDetection[] = [];
  for (const f of found.sort((p, q) => q.score - p.score)) {
    if (!kept.some((k) => boxIoU(k.box, f.box) >= (options.iouThreshold ?? 0.3))) kept.push(f);
  }
  const out: BlazeDetectedFace[] = [];
  for (const f of kept.slice(0, options.maxFaces ?? 100)) {
    const side = 1.1 * Math.max(f.box.width, f.box.height);
    const square = { x: f.box.x + f.box.width / 2 - side / 2, y: f.box.y + f.box.height / 2 - side / 2, width: side, height: side };
    if (side < 8) continue;
    const landmarks68 = await landmarksInBox(image, square);
    out.push({ box: f.box, score: f.score, landmarks68, keypoints: f.keypoints, eyeDisagreement: eyeDisagreement(f.keypoints, landmarks68) });
  }
  return out;
}

/** Intersection over union of two boxes. */
export function boxIoU(a: FaceBox, b: FaceBox): number {
  const x = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const y = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const inter = x * y;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/**
 * The `auto` detector's union: every SSD face, plus each BlazeFace face that `accept` keeps (by default:
 * a score of at least `blazeMin`) and no SSD face overlaps (IoU ≥ 0.3). SSD's landmarks are kept where
 * both found a face.
 */
export function mergeDetections<B extends DetectedFace>(
  ssd: readonly DetectedFace[],
  blaze: readonly B[],
  accept: number | ((face: B) => boolean),
): DetectedFace[] {
  const keep = typeof accept === 'number' ? (b: B) => b.score >= accept : accept;
  const extra = blaze.filter((b) => keep(b) && !ssd.some((s) => boxIoU(s.box, b.box) >= 0.3));
  return [...ssd, ...extra].sort((p, q) => q.score - p.score);
}
