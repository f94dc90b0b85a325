/**
 * Face detection and 68 landmarks in the browser with @vladmandic/face-api.
 *
 * We import its `esm-nobundle` build: it imports `@tensorflow/tfjs` (and the webgl and wasm backends)
 * instead of embedding its own copy, so the bundler resolves the same modules as ours — one tfjs engine,
 * one backend registry, one `setWasmPaths`. Its weights are served from this page's origin
 * (`models/face-api/`, copied there by scripts/prepare-assets.ts); nothing is fetched elsewhere.
 *
 * face-api ships its own copy of tfjs's type declarations; we type only what we call.
 */
import * as tf from '@tensorflow/tfjs';
import * as faceapiModule from '@vladmandic/face-api/dist/face-api.esm-nobundle.js';
import type { Point2 } from '@ragan/core';
export { FACE_API_FILES } from './face-api-files.js';

interface FaceApiNet {
  readonly isLoaded: boolean;
  loadFromUri(uri: string): Promise<void>;
}
interface FaceApiResult {
  detection: { score: number; box: { x: number; y: number; width: number; height: number } };
  landmarks: { positions: Array<{ x: number; y: number }> };
}
interface FaceApi {
  tf: { engine(): unknown };
  nets: { ssdMobilenetv1: FaceApiNet; faceLandmark68Net: FaceApiNet };
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

/** Loads the detector and the landmark net from `baseUrl` (same origin). Idempotent. */
export async function loadFaceDetector(baseUrl: string): Promise<void> {
  if (faceapi.tf.engine() !== tf.engine()) {
    throw new Error('face-api resolved a different copy of @tensorflow/tfjs than the demo (two tfjs engines); check the bundle');
  }
  const base = baseUrl.replace(/\/+$/, '');
  await Promise.all([faceapi.nets.ssdMobilenetv1, faceapi.nets.faceLandmark68Net].map((net) => (net.isLoaded ? undefined : net.loadFromUri(base))));
}

/**
 * Every face with its landmarks, best score first. `pixels` is a canvas (or anything tf.browser.fromPixels
 * takes); faces below `minConfidence` are dropped.
 */
export async function detectFaces(pixels: HTMLCanvasElement | ImageData, opts: { minConfidence?: number; maxFaces?: number } = {}): Promise<DetectedFace[]> {
  const input = tf.browser.fromPixels(pixels);
  try {
    const options = new faceapi.SsdMobilenetv1Options({ minConfidence: opts.minConfidence ?? 0.5, maxResults: opts.maxFaces ?? 10 });
    const results = await faceapi.detectAllFaces(input, options).withFaceLandmarks();
    return results
      .map((r) => ({
        score: r.detection.score,
        box: { x: r.detection.box.x, y: r.detection.box.y, width: r.detection.box.width, height: r.detection.box.height },
        landmarks68: r.landmarks.positions.map((p): Point2 => [p.x, p.y]),
      }))
      .sort((a, b) => b.score - a.score);
  } finally {
    input.dispose();
  }
}
