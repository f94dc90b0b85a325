/**
 * Face detection and 68 landmarks in the browser: the same `auto` detector as `ragan age` — face-api's
 * SSD plus the faces only MediaPipe BlazeFace finds (two passes: the photo and a grey-padded copy;
 * core's browser-safe decoding and rule), with face-api's 68 landmarks in each BlazeFace box.
 *
 * We import its `esm-nobundle` build: it imports `@tensorflow/tfjs` (and the webgl and wasm backends)
 * instead of embedding its own copy, so the bundler resolves the same modules as ours — one tfjs engine,
 * one backend registry, one `setWasmPaths`. Its weights are served from this page's origin
 * (`models/face-api/`, and BlazeFace from @vladmandic/human in `models/blazeface/`, copied there by
 * scripts/prepare-assets.ts); nothing is fetched elsewhere.
 *
 * face-api ships its own copy of tfjs's type declarations; we type only what we call.
 */
import * as tf from '@tensorflow/tfjs';
import * as faceapiModule from '@vladmandic/face-api/dist/face-api.esm-nobundle.js';
import { autoDetect, landmarkCrop, type BlazeFaceModel, type FaceBox, type FaceMeshModel, type Point2 } from '@ragan/core';
export { BLAZEFACE_FILES, FACE_API_FILES } from './face-api-files.js';

interface FaceApiNet {
  readonly isLoaded: boolean;
  loadFromUri(uri: string): Promise<void>;
}
interface FaceApiLandmarkNet extends FaceApiNet {
  detectLandmarks(input: tf.Tensor3D): Promise<{ positions: Array<{ x: number; y: number }> }>;
}
interface FaceApiResult {
  detection: { score: number; box: { x: number; y: number; width: number; height: number } };
  landmarks: { positions: Array<{ x: number; y: number }> };
}
interface FaceApi {
  tf: { engine(): unknown };
  nets: { ssdMobilenetv1: FaceApiNet; faceLandmark68Net: FaceApiLandmarkNet };
  SsdMobilenetv1Options: new (o: { minConfidence?: number; maxResults?: number }) => unknown;
  detectAllFaces(input: tf.Tensor3D, options: unknown): { withFaceLandmarks(): Promise<FaceApiResult[]> };
}

const faceapi = faceapiModule as unknown as FaceApi;

export interface DetectedFace {
  score: number;
  box: { x: number; y: number; width: number; height: number };
  /** iBUG 68 points, photo pixels. */
  landmarks68: Point2[];
}

let blazeFace: (BlazeFaceModel & { dispose(): void }) | undefined;
let faceMesh: (FaceMeshModel & { dispose(): void }) | undefined;

/**
 * Loads face-api's SSD and landmark net from `faceApiUrl`, and BlazeFace's and the face mesh's graph
 * models from `blazeFaceUrl` (both same origin). Idempotent.
 */
export async function loadFaceDetector(faceApiUrl: string, blazeFaceUrl: string): Promise<void> {
  if (faceapi.tf.engine() !== tf.engine()) {
    throw new Error('face-api resolved a different copy of @tensorflow/tfjs than the demo (two tfjs engines); check the bundle');
  }
  const base = faceApiUrl.replace(/\/+$/, '');
  await Promise.all([
    ...[faceapi.nets.ssdMobilenetv1, faceapi.nets.faceLandmark68Net].map((net) => (net.isLoaded ? undefined : net.loadFromUri(base))),
    blazeFace ? undefined : tf.loadGraphModel(`${blazeFaceUrl.replace(/\/+$/, '')}/blazeface.json`).then((m) => void (blazeFace = m)),
    faceMesh ? undefined : tf.loadGraphModel(`${blazeFaceUrl.replace(/\/+$/, '')}/facemesh.json`).then((m) => void (faceMesh = m)),
  ]);
}

/** face-api's 68 landmarks of the face in `box` (photo pixels; parts outside the photo read as black; a dark crop is brightened). */
async function landmarksInBox(input: tf.Tensor3D, box: FaceBox): Promise<Point2[]> {
  const { crop, x0, y0 } = landmarkCrop(input, box);
  try {
    const lm = await faceapi.nets.faceLandmark68Net.detectLandmarks(crop);
    return lm.positions.map((p): Point2 => [p.x + x0, p.y + y0]);
  } finally {
    crop.dispose();
  }
}

/**
 * Every face with its landmarks, best score first: SSD's faces, plus those only BlazeFace finds that the
 * `auto` rule keeps (a score of 0.75, eyes that the landmark net agrees on, or the face mesh's yes). `pixels` is a canvas (or
 * anything tf.browser.fromPixels takes); faces below `minConfidence` are dropped.
 */
export async function detectFaces(pixels: HTMLCanvasElement | ImageData, opts: { minConfidence?: number; maxFaces?: number } = {}): Promise<DetectedFace[]> {
  const model = blazeFace;
  const mesh = faceMesh;
  if (!model || !mesh) throw new Error('the face detector is not loaded; call loadFaceDetector() first');
  const minConfidence = opts.minConfidence ?? 0.5;
  const maxFaces = opts.maxFaces ?? 10;
  const input = tf.browser.fromPixels(pixels);
  try {
    const options = new faceapi.SsdMobilenetv1Options({ minConfidence, maxResults: maxFaces });
    const ssd: DetectedFace[] = (await faceapi.detectAllFaces(input, options).withFaceLandmarks()).map((r) => ({
      score: r.detection.score,
      box: { x: r.detection.box.x, y: r.detection.box.y, width: r.detection.box.width, height: r.detection.box.height },
      landmarks68: r.landmarks.positions.map((p): Point2 => [p.x, p.y]),
    }));
    // core's `auto` detector, the one `ragan age` runs
    const faces = await autoDetect(
      input,
      { ssd: async () => ssd, blazeFace: model, faceMesh: mesh, landmarksInBox: (box) => landmarksInBox(input, box) },
      { minConfidence, maxFaces },
    );
    return faces.map(({ score, box, landmarks68 }) => ({ score, box, landmarks68 }));
  } finally {
    input.dispose();
  }
}
