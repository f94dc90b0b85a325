/**
 * MediaPipe's BlazeFace, full-range ("back") model, decoded without DOM or Node: 256×256 input, 896
 * anchors, a box and six keypoints (eyes, nose tip, mouth, ear tragions) per anchor. Google's model
 * (Apache-2.0), as converted to a TensorFlow.js graph model by @vladmandic/human (MIT), whose `models/`
 * folder ships it (`blazeface.json` + `blazeface.bin`, 540 kB). It finds faces that face-api's SSD misses:
 * rotated, dark, blurred, heavily compressed or filling the frame.
 *
 * `faceMeshScore` asks a second MediaPipe network, the face mesh (the same package's `facemesh.json`,
 * 1.5 MB), whether a face BlazeFace is unsure of is one.
 *
 * Loading is the caller's: @ragan/data reads the files from disk, the web demo from its own origin. Both
 * then run the same decoding, the same two passes and the same `auto` rule, so Node and the browser find
 * the same faces in the same photo.
 */
import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors/index.js';
import { meanPoint } from '../geometry/ffhq.js';
import type { Point2 } from '../geometry/image.js';
import type { FaceBox } from './faces.js';

/** The model's input side. */
export const BLAZEFACE_INPUT = 256;
/** Anchor layout of the 256² model: a 16×16 grid with 2 anchors per cell, then an 8×8 grid with 6. */
const GRIDS = [
  { stride: 16, perCell: 2 },
  { stride: 32, perCell: 6 },
] as const;
/** The graph's outputs: scores and boxes of the two grids. */
const OUTPUTS = ['Identity', 'Identity_1', 'Identity_2', 'Identity_3'];

/** What the decoder needs of the loaded graph model (a `tf.GraphModel` is one). */
export interface BlazeFaceModel {
  execute(inputs: tf.Tensor, outputs: string[]): tf.Tensor | tf.Tensor[];
}

/**
 * How much of the image's larger side the second pass pads it by (mid-grey, every side). BlazeFace's
 * full-range model was trained on faces that fill a small part of the frame: a face that fills the image
 * (a tight crop, a selfie) scores far lower than the same face with room around it. On the hard-case set
 * (@ragan/data's bench/detector-recall.ts), SSD plus BlazeFace at a 0.75 score found 69 % of the faces
 * with one pass and 94 % with both (JPEG quality 8: 10 % → 83 %), with no false face added on images
 * without one.
 */
export const BLAZEFACE_PAD = 0.5;

/**
 * The `auto` detector keeps a face that only BlazeFace found at this score or above: on images without
 * faces (tiles of face-api's sample photos away from the people) BlazeFace scored clothes, a door lock and
 * a sofa 0.50-0.71 (bench/detector-recall.ts).
 */
export const AUTO_BLAZEFACE_MIN = 0.75;

/**
 * Below AUTO_BLAZEFACE_MIN (down to the caller's minimum confidence), `auto` keeps a BlazeFace-only face
 * whose eye keypoints agree with face-api's landmark net this well (`eyeDisagreement`, in eye distances).
 * Chosen on the hard-case set's first sample, where every false candidate measured 0.24 or more, and
 * checked on a second, disjoint sample (@ragan/data's README, "Finding faces").
 */
export const AUTO_EYE_AGREEMENT = 0.2;

export interface BlazeFaceDetection {
  /** Face box in image pixels. */
  box: FaceBox;
  /** Detector confidence in [0, 1]. */
  score: number;
  /** Right eye, left eye, nose tip, mouth centre, right ear tragion, left ear tragion (the person's right/left), image pixels. */
  keypoints: Point2[];
  /** Which pass of `blazeFacePasses` found it (its best score): the photo, its padded copy, or a tile. */
  pass?: 'photo' | 'padded' | 'tile';
}

export interface BlazeFaceOptions {
  /** Minimum score. Default 0.5. */
  minConfidence?: number;
  /** At most this many faces, best first. Default 100. */
  maxFaces?: number;
  /** Boxes overlapping a better one by more than this IoU are dropped. Default 0.3. */
  iouThreshold?: number;
}

let anchorCache: Float32Array | undefined;
/** Anchor centres `[x0, y0, x1, y1, …]` in input pixels, in the model's output order. */
function anchors(): Float32Array {
  if (anchorCache) return anchorCache;
  const out: number[] = [];
  for (const { stride, perCell } of GRIDS) {
    const cells = BLAZEFACE_INPUT / stride;
    for (let y = 0; y < cells; y++) {
      for (let x = 0; x < cells; x++) {
        for (let k = 0; k < perCell; k++) out.push(stride * (x + 0.5), stride * (y + 0.5));
      }
    }
  }
  anchorCache = Float32Array.from(out);
  return anchorCache;
}

/**
 * One BlazeFace pass: the image is padded to a square (black, right and bottom) and resized to 256², so
 * faces smaller than about 1/12 of the image's longer side are missed (face-api's SSD, at 512, finds
 * smaller ones). `input`: `[H, W, 3]` of 0..255 (the caller keeps it). Faces best first.
 */
export async function decodeBlazeFace(model: BlazeFaceModel, input: tf.Tensor3D, options: BlazeFaceOptions = {}): Promise<BlazeFaceDetection[]> {
  const minConfidence = options.minConfidence ?? 0.5;
  const maxFaces = options.maxFaces ?? 100;
  if (input.rank !== 3 || input.shape[2] !== 3) throw new ShapeError(`BlazeFace: expected an [H, W, 3] image tensor, got [${input.shape.join(', ')}]`);
  const [h, w] = input.shape;
  const side = Math.max(h, w);
  const scale = side / BLAZEFACE_INPUT;
  const [boxes, scores] = tf.tidy(() => {
    const square = tf.pad(tf.cast(input, 'float32'), [
      [0, side - h],
      [0, side - w],
      [0, 0],
    ]);
    const x = tf.sub(tf.div(tf.image.resizeBilinear(square as tf.Tensor3D, [BLAZEFACE_INPUT, BLAZEFACE_INPUT]), 127.5), 1).expandDims(0);
    const out = model.execute(x, OUTPUTS);
    if (!Array.isArray(out) || out.length !== 4) throw new ShapeError(`BlazeFace: the model gave ${Array.isArray(out) ? out.length : 1} outputs, expected 4`);
    const [s512, s384, b512, b384] = out;
    return [
      tf.concat([b512!.reshape([-1, 16]), b384!.reshape([-1, 16])]),
      tf.sigmoid(tf.clipByValue(tf.concat([s512!.reshape([-1]), s384!.reshape([-1])]), -100, 100)),
    ];
  });
  let raw: { boxes: Float32Array; scores: Float32Array };
  try {
    raw = { boxes: (await boxes.data()) as Float32Array, scores: (await scores.data()) as Float32Array };
  } finally {
    tf.dispose([boxes, scores]);
  }
  const a = anchors();
  const n = raw.scores.length;
  if (n * 2 !== a.length) throw new ShapeError(`BlazeFace: the model gave ${n} anchors, expected ${a.length / 2}`);
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
 * The image tensor with `pad` pixels of constant grey (128) on every side (a new tensor; the caller
 * disposes both). Grey, not mirrored: a mirrored border holds mirrored faces, which detectors find.
 */
export function padGrey(input: tf.Tensor3D, pad: number): tf.Tensor3D {
  return tf.pad(
    input,
    [
      [pad, pad],
      [pad, pad],
      [0, 0],
    ],
    128,
  );
}

/**
 * BlazeFace sees the photo at 256²: in a photo at least this many times that wide or high (512 px), the
 * passes add 2×2 overlapping tiles, each 0.6 of the photo's width and height, in which a face is 1.7×
 * larger. The hard-case set's small faces (48 px in a 640×480 photo: 19 px at 256², under the model's
 * reach) are found that way.
 */
export const BLAZEFACE_TILE_FROM = 2;

/** Where the tiles sit, as fractions of the photo's side: 0-0.6 and 0.4-1 (a 0.2 overlap). */
const TILE = { size: 0.6, starts: [0, 0.4] } as const;

/**
 * BlazeFace's faces in several passes: the image as it is; padded by `pad` × its larger side (default
 * BLAZEFACE_PAD; 0: no padded pass); and, unless `tiles` is false, in 2×2 overlapping tiles when the
 * image is at least BLAZEFACE_TILE_FROM × 256 px on a side. A face several passes find is kept once, at
 * its best score. `input`: `[H, W, 3]` of 0..255 (the caller keeps it). Faces best first, at most
 * `maxFaces`.
 */
export async function blazeFacePasses(
  model: BlazeFaceModel,
  input: tf.Tensor3D,
  options: BlazeFaceOptions & { pad?: number; tiles?: boolean } = {},
): Promise<BlazeFaceDetection[]> {
  const padFrac = options.pad ?? BLAZEFACE_PAD;
  if (!(padFrac >= 0 && padFrac <= 2)) throw new ShapeError(`BlazeFace: pad must be in [0, 2], got ${padFrac}`);
  const [h, w] = input.shape;
  const pad = Math.round(padFrac * Math.max(h, w));
  const shifted = (f: BlazeFaceDetection, dx: number, dy: number, pass: 'padded' | 'tile'): BlazeFaceDetection => ({
    box: { ...f.box, x: f.box.x + dx, y: f.box.y + dy },
    score: f.score,
    keypoints: f.keypoints.map(([x, y]): Point2 => [x + dx, y + dy]),
    pass,
  });
  const found: BlazeFaceDetection[] = (await decodeBlazeFace(model, input, options)).map((f) => ({ ...f, pass: 'photo' }));
  if (pad > 0) {
    const padded = padGrey(input, pad);
    try {
      for (const f of await decodeBlazeFace(model, padded, options)) {
        const g = shifted(f, -pad, -pad, 'padded');
        const cx = g.box.x + g.box.width / 2;
        const cy = g.box.y + g.box.height / 2;
        if (cx < 0 || cy < 0 || cx >= w || cy >= h) continue;
        found.push(g);
      }
    } finally {
      padded.dispose();
    }
  }
  if (options.tiles !== false && Math.max(h, w) >= BLAZEFACE_TILE_FROM * BLAZEFACE_INPUT) {
    const th = Math.round(TILE.size * h);
    const tw = Math.round(TILE.size * w);
    for (const fy of TILE.starts) {
      for (const fx of TILE.starts) {
        const y0 = Math.min(h - th, Math.round(fy * h));
        const x0 = Math.min(w - tw, Math.round(fx * w));
        const tile = tf.slice(input, [y0, x0, 0], [th, tw, 3]);
        try {
          for (const f of await decodeBlazeFace(model, tile, options)) found.push(shifted(f, x0, y0, 'tile'));
        } finally {
          tile.dispose();
        }
      }
    }
  }
  // one face per place across the passes: the best score wins
  const kept: BlazeFaceDetection[] = [];
  for (const f of found.sort((p, q) => q.score - p.score)) {
    if (!kept.some((k) => boxIoU(k.box, f.box) >= (options.iouThreshold ?? 0.3))) kept.push(f);
  }
  return kept.slice(0, options.maxFaces ?? 100);
}

/**
 * The part of `input` (`[H, W, 3]`) under `box`, rounded to whole pixels; where the box reaches outside
 * the image the crop is black, as face-api's own crops are. A new tensor (the caller disposes it) and
 * the crop's top-left corner in image pixels, to map points found in it back.
 */
export function cropBox(input: tf.Tensor3D, box: FaceBox): { crop: tf.Tensor3D; x0: number; y0: number } {
  const [ih, iw] = input.shape;
  const x0 = Math.round(box.x);
  const y0 = Math.round(box.y);
  const w = Math.round(box.width);
  const h = Math.round(box.height);
  if (!(w >= 1 && h >= 1)) throw new ShapeError(`cropBox: the box must be at least 1×1 pixels, got ${w}×${h}`);
  const crop = tf.tidy(() => {
    const padded = tf.pad(input, [
      [Math.max(0, -y0), Math.max(0, y0 + h - ih)],
      [Math.max(0, -x0), Math.max(0, x0 + w - iw)],
      [0, 0],
    ]);
    return tf.slice(padded, [Math.max(0, y0), Math.max(0, x0), 0], [h, w, 3]) as tf.Tensor3D;
  });
  return { crop, x0, y0 };
}

/** Below this 99th percentile of a crop's brightest channel, `landmarkCrop` brightens it. */
export const DARK_CROP_P99 = 160;
/** `landmarkCrop`'s largest brightening factor. */
export const DARK_CROP_MAX_GAIN = 4;

/**
 * The crop in which face-api's 68-landmark net looks for a face (`cropBox`), brightened when it is dark:
 * when the 99th percentile of each pixel's brightest channel is under DARK_CROP_P99, every value is
 * multiplied so that it becomes 255 (at most DARK_CROP_MAX_GAIN×). The net then finds the eyes of faces
 * in dim photos more closely (bench: faces darkened to a quarter, median eye error 0.033 → 0.023 eye
 * distances on one sample, 0.021 → 0.018 on another); other crops are left exactly as they are. A new
 * tensor of the input's dtype (the caller disposes it), with its top-left corner and the gain applied.
 */
export function landmarkCrop(input: tf.Tensor3D, box: FaceBox): { crop: tf.Tensor3D; x0: number; y0: number; gain: number } {
  const { crop, x0, y0 } = cropBox(input, box);
  const p99 = tf.tidy(() => {
    const bright = tf.reshape(tf.max(tf.cast(crop, 'float32'), 2), [-1]);
    const k = Math.max(1, Math.ceil(0.01 * bright.shape[0]!));
    return tf.min(tf.topk(bright, k).values);
  });
  const level = p99.dataSync()[0]!;
  p99.dispose();
  if (!(level < DARK_CROP_P99)) return { crop, x0, y0, gain: 1 };
  const gain = Math.min(DARK_CROP_MAX_GAIN, 255 / Math.max(1, level));
  const brightened = tf.tidy(() => tf.cast(tf.clipByValue(tf.round(tf.mul(tf.cast(crop, 'float32'), gain)), 0, 255), crop.dtype) as tf.Tensor3D);
  crop.dispose();
  return { crop: brightened, x0, y0, gain };
}

/** The square, 1.1× the BlazeFace box's larger side and centred on it, in which the 68 landmarks are looked for. */
export function landmarkSquare(box: FaceBox): FaceBox {
  const side = 1.1 * Math.max(box.width, box.height);
  return { x: box.x + box.width / 2 - side / 2, y: box.y + box.height / 2 - side / 2, width: side, height: side };
}

const dist = (p: Point2, q: Point2) => Math.hypot(p[0] - q[0], p[1] - q[1]);

/**
 * How far BlazeFace's two eye keypoints are from the eye centres of 68 landmarks, on average, in BlazeFace
 * eye distances (either eye order: the networks name sides differently). Two networks that agree where
 * the eyes are (near 0) is evidence of a face that a middling score alone is not. Clothes and furniture
 * BlazeFace scored 0.5-0.71 measured 0.24 and more; true faces at those scores mostly under 0.2.
 */
export function eyeDisagreement(keypoints: readonly Point2[], landmarks68: readonly Point2[]): number {
  const [k0, k1] = [keypoints[0]!, keypoints[1]!];
  const e0 = meanPoint(landmarks68.slice(36, 42));
  const e1 = meanPoint(landmarks68.slice(42, 48));
  const eyeDist = Math.max(1e-6, dist(k0, k1));
  return Math.min(dist(k0, e0) + dist(k1, e1), dist(k0, e1) + dist(k1, e0)) / 2 / eyeDist;
}

/** The face-mesh model's input side. */
export const FACEMESH_INPUT = 192;

/** What `faceMeshScore` needs of MediaPipe's face-mesh graph model (a `tf.GraphModel` is one). */
export interface FaceMeshModel {
  execute(inputs: tf.Tensor): tf.Tensor | tf.Tensor[];
}

/**
 * The `auto` detector keeps a face that only BlazeFace found at a middling score when MediaPipe's face
 * mesh, run on it, says a face is there with at least this confidence. On the hard-case set's first
 * sample (@ragan/data's bench/detector-recall.ts) every BlazeFace candidate that was not a face scored
 * at most 0.41; it let six of the eight faces the other rules missed through.
 */
export const AUTO_MESH_MIN = 0.5;

/**
 * MediaPipe face mesh's own "a face is here" confidence (its `faceflag` output, in [0, 1]) for a face
 * BlazeFace found: the square 1.4× the BlazeFace box's larger side around its centre, turned so that the
 * eye keypoints are level, resized to 192² and scaled to [0, 1], as @vladmandic/human feeds the mesh.
 * `input` is the photo, `[H, W, 3]` in 0-255; parts of the square outside it read as black. The mesh is
 * a second opinion from a network trained to track faces: clothes and furniture that BlazeFace scores
 * 0.5-0.7 get near 0, faces BlazeFace is unsure of (blurred, dark, turned) mostly near 1.
 */
export async function faceMeshScore(model: FaceMeshModel, input: tf.Tensor3D, face: { box: FaceBox; keypoints: readonly Point2[] }): Promise<number> {
  const [right, left] = [face.keypoints[0], face.keypoints[1]];
  if (!right || !left) throw new ShapeError(`faceMeshScore: a BlazeFace face has 6 keypoints, got ${face.keypoints.length}`);
  const side = 1.4 * Math.max(face.box.width, face.box.height);
  if (!(side >= 1)) throw new ShapeError(`faceMeshScore: the face box must be at least 1 pixel, got ${face.box.width}×${face.box.height}`);
  const [cx, cy] = [face.box.x + face.box.width / 2, face.box.y + face.box.height / 2];
  // first the axis-aligned square that holds the turned one (√2 × its side), scaled down to at most
  // twice the mesh's input: a big face in a big photo never becomes a big float tensor
  const outer = Math.ceil(side * Math.SQRT2);
  const { crop, x0, y0 } = cropBox(input, { x: Math.round(cx - outer / 2), y: Math.round(cy - outer / 2), width: outer, height: outer });
  const k = Math.min(1, (2 * Math.SQRT2 * FACEMESH_INPUT) / outer);
  const n = Math.max(1, Math.round(outer * k));
  const angle = Math.atan2(left[1] - right[1], left[0] - right[0]);
  const half = FACEMESH_INPUT / 2;
  // output pixel (u, v) reads the scaled square at its centre plus the turned, scaled offset from the crop's centre
  const s = ((side / FACEMESH_INPUT) * n) / outer;
  const [c, sn] = [Math.cos(angle), Math.sin(angle)];
  const [mx, my] = [((cx - x0) * n) / outer, ((cy - y0) * n) / outer];
  const [a0, a1, b0, b1] = [s * c, -s * sn, s * sn, s * c];
  const transform = [a0, a1, mx - half * (a0 + a1), b0, b1, my - half * (b0 + b1), 0, 0];
  let flag: tf.Tensor;
  try {
    flag = tf.tidy(() => {
      const small = tf.image.resizeBilinear(tf.cast(crop, 'float32'), [n, n], true);
      const turned = tf.image.transform(tf.expandDims(small, 0) as tf.Tensor4D, tf.tensor2d([transform]), 'bilinear', 'constant', 0, [
        FACEMESH_INPUT,
        FACEMESH_INPUT,
      ]);
      const out = model.execute(tf.div(turned, 255));
      const flagT = (Array.isArray(out) ? out : [out]).find((t) => t.shape.length === 2 && t.shape[1] === 1);
      if (!flagT) throw new ShapeError('faceMeshScore: the model has no [N, 1] face-flag output (is it MediaPipe face mesh?)');
      return tf.reshape(flagT, [1]);
    });
  } finally {
    crop.dispose();
  }
  try {
    return (await flag.data())[0]!;
  } finally {
    flag.dispose();
  }
}

/** Intersection over union of two boxes. */
export function boxIoU(a: FaceBox, b: FaceBox): number {
  const x = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const y = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const inter = x * y;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/**
 * The `auto` detector's rule for a face only BlazeFace found: keep it at a score of at least
 * max(minConfidence, AUTO_BLAZEFACE_MIN); or at any score (the caller asked for at least `minConfidence`)
 * with eyes that face-api's landmarks agree on within AUTO_EYE_AGREEMENT, unless only a tile found it;
 * or when the face mesh's confidence (`meshScore`, `faceMeshScore`; absent: not measured) is at least
 * AUTO_MESH_MIN. `needsMesh` says whether a face's fate still depends on its mesh score.
 */
export function autoKeepsBlazeFace(
  face: { score: number; eyeDisagreement: number; pass?: BlazeFaceDetection['pass']; meshScore?: number },
  minConfidence = 0.5,
): boolean {
  if (face.score >= Math.max(minConfidence, AUTO_BLAZEFACE_MIN)) return true;
  // the tiles look closer at every part of a large photo: there a middling score with agreeing eyes was
  // a skirt's fold as often as a face (bench/detector-recall.ts), so a face only a tile found needs the score
  if (face.pass !== 'tile' && face.eyeDisagreement <= AUTO_EYE_AGREEMENT) return true;
  return face.meshScore !== undefined && face.meshScore >= AUTO_MESH_MIN;
}

/** Whether `autoKeepsBlazeFace` would keep `face` only with a mesh score (so it is worth measuring). */
export function autoNeedsMesh(face: { score: number; eyeDisagreement: number; pass?: BlazeFaceDetection['pass'] }, minConfidence = 0.5): boolean {
  return face.score >= minConfidence && !autoKeepsBlazeFace({ ...face, meshScore: undefined }, minConfidence);
}

/**
 * The `auto` detector's union: every SSD face, plus each BlazeFace face that `accept` keeps (a score
 * threshold, or a rule such as `autoKeepsBlazeFace`) and no SSD face overlaps (IoU ≥ 0.3). SSD's
 * landmarks are kept where both found a face. Best score first.
 */
export function mergeDetections<S extends { box: FaceBox; score: number }, B extends { box: FaceBox; score: number }>(
  ssd: readonly S[],
  blaze: readonly B[],
  accept: number | ((face: B) => boolean),
): Array<S | B> {
  const keep = typeof accept === 'number' ? (b: B) => b.score >= accept : accept;
  const extra = blaze.filter((b) => keep(b) && !ssd.some((s) => boxIoU(s.box, b.box) >= 0.3));
  return [...ssd, ...extra].sort((p, q) => q.score - p.score);
}

/** A face of `autoDetect` that only BlazeFace found, with what the `auto` rule looked at. */
export interface AutoBlazeFace {
  box: FaceBox;
  score: number;
  /** face-api's 68 landmarks in `landmarkSquare(box)`. */
  landmarks68: Point2[];
  keypoints: Point2[];
  eyeDisagreement: number;
  pass?: BlazeFaceDetection['pass'];
  /** The face mesh's confidence, where it decided (`autoNeedsMesh`). */
  meshScore?: number;
}

/** What `autoDetect` needs of its caller: face-api's nets on this photo, and MediaPipe's two models. */
export interface AutoDetectNets<S extends { box: FaceBox; score: number }> {
  /** face-api's SSD faces (with their landmarks) at the caller's minimum confidence. */
  ssd: () => Promise<S[]>;
  blazeFace: BlazeFaceModel;
  /** The face mesh, or a loader called the first time a face needs it. */
  faceMesh: FaceMeshModel | (() => Promise<FaceMeshModel>);
  /** face-api's 68 landmarks of the face in `box` (photo pixels). */
  landmarksInBox: (box: FaceBox) => Promise<Point2[]>;
}

/**
 * The `auto` detector, for Node and the browser alike: SSD's faces, plus each face only BlazeFace finds
 * (`blazeFacePasses`; landmarks from face-api's net in `landmarkSquare` of its box) that
 * `autoKeepsBlazeFace` keeps, asking the face mesh only where its answer decides. `input`: the photo,
 * `[H, W, 3]` of 0..255 (the caller keeps it). Best score first, at most `maxFaces` (default 100).
 */
export async function autoDetect<S extends { box: FaceBox; score: number }>(
  input: tf.Tensor3D,
  nets: AutoDetectNets<S>,
  options: { minConfidence?: number; maxFaces?: number; pad?: number; tiles?: boolean } = {},
): Promise<Array<S | AutoBlazeFace>> {
  const minConfidence = options.minConfidence ?? 0.5;
  const maxFaces = options.maxFaces ?? 100;
  const ssd = await nets.ssd();
  let mesh = typeof nets.faceMesh === 'function' ? undefined : nets.faceMesh;
  const blaze: AutoBlazeFace[] = [];
  for (const f of await blazeFacePasses(nets.blazeFace, input, { ...options, minConfidence, maxFaces })) {
    const square = landmarkSquare(f.box);
    // landmarks only for the faces SSD did not find (the merge drops the others)
    if (square.width < 8 || ssd.some((s) => boxIoU(s.box, f.box) >= 0.3)) continue;
    const landmarks68 = await nets.landmarksInBox(square);
    const face: AutoBlazeFace = { ...f, landmarks68, eyeDisagreement: eyeDisagreement(f.keypoints, landmarks68) };
    if (autoNeedsMesh(face, minConfidence)) {
      mesh ??= await (nets.faceMesh as () => Promise<FaceMeshModel>)();
      face.meshScore = await faceMeshScore(mesh, input, f);
    }
    blaze.push(face);
  }
  return mergeDetections(ssd, blaze, (b) => autoKeepsBlazeFace(b, minConfidence)).slice(0, maxFaces);
}
