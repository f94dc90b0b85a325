/**
 * The slice of @vladmandic/face-api we use, loaded from its `node-wasm` build.
 *
 * Why that build: it is CommonJS and `require`s the external `@tensorflow/tfjs` and
 * `@tensorflow/tfjs-backend-wasm` packages instead of bundling a copy (the `esm` and `face-api.js`
 * builds embed their own tfjs; `esm-nobundle` imports tfjs's ESM `dist/index.js`, a second module
 * instance beside the CommonJS `tf.node.js` that Node resolves for `import '@tensorflow/tfjs'`). With
 * node-wasm, face-api's `tf` *is* our `tf` (same file, same module cache entry): one engine, one kernel
 * and gradient registry, so gradients flow through its weights and our tensors pass `instanceof` checks.
 * `assertSameEngine` verifies it at load time.
 *
 * face-api ships its own copy of tfjs's type declarations; we type only what we call, here.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ModelLoadError } from '@ragan/core';

export interface FaceApiPoint {
  x: number;
  y: number;
}
export interface FaceApiBox {
  x: number;
  y: number;
  width: number;
  height: number;
}
export interface FaceApiDetection {
  score: number;
  box: FaceApiBox;
}
export interface FaceApiLandmarks {
  positions: FaceApiPoint[];
}
export interface FaceApiResult {
  detection: FaceApiDetection;
  landmarks: FaceApiLandmarks;
}
export interface FaceApiNet {
  readonly isLoaded: boolean;
  readonly params: unknown;
  loadFromWeightMap(weightMap: tf.NamedTensorMap): void;
  dispose(throwOnRedispose?: boolean): void;
}
export interface FaceApiAgeGenderNet extends FaceApiNet {
  predictAgeAndGender(input: tf.Tensor3D | tf.Tensor3D[]): Promise<{ age: number } | Array<{ age: number }>>;
}
export interface FaceApiLandmarkNet extends FaceApiNet {
  detectLandmarks(input: tf.Tensor3D | tf.Tensor3D[]): Promise<FaceApiLandmarks | FaceApiLandmarks[]>;
}
interface DetectAllFacesTask {
  withFaceLandmarks(useTinyLandmarkNet?: boolean): Promise<FaceApiResult[]>;
  run(): Promise<FaceApiDetection[]>;
}
export interface FaceApi {
  tf: { engine(): unknown; version?: Record<string, string> };
  version: string;
  nets: {
    ssdMobilenetv1: FaceApiNet;
    tinyFaceDetector: FaceApiNet;
    faceLandmark68Net: FaceApiLandmarkNet;
    faceLandmark68TinyNet: FaceApiLandmarkNet;
    faceRecognitionNet: FaceApiNet;
    ageGenderNet: FaceApiAgeGenderNet;
  };
  SsdMobilenetv1Options: new (o: { minConfidence?: number; maxResults?: number }) => unknown;
  TinyFaceDetectorOptions: new (o: { inputSize?: number; scoreThreshold?: number }) => unknown;
  detectAllFaces(input: tf.Tensor3D, options: unknown): DetectAllFacesTask;
}

const require = createRequire(import.meta.url);
const BUILD = '@vladmandic/face-api/dist/face-api.node-wasm.js';
let cached: FaceApi | undefined;

/** The face-api package folder (its `model/` holds the weights, `demo/` sample photos). */
export function faceApiPackageDir(): string {
  return dirname(require.resolve('@vladmandic/face-api/package.json'));
}

/** Default weights folder: the `model/` folder shipped inside @vladmandic/face-api. */
export function faceApiModelDir(): string {
  return join(faceApiPackageDir(), 'model');
}

/** Loads face-api (once per process) and checks that it shares our tfjs engine. */
export function getFaceApi(): FaceApi {
  if (cached) return cached;
  let mod: FaceApi;
  try {
    mod = require(BUILD) as FaceApi;
  } catch (e) {
    throw new ModelLoadError(BUILD, `cannot load face-api (${(e as Error).message}); is @vladmandic/face-api installed beside @tensorflow/tfjs?`, { cause: e });
  }
  assertSameEngine(mod);
  cached = mod;
  return mod;
}

function assertSameEngine(mod: FaceApi): void {
  if (mod.tf.engine() !== tf.engine()) {
    throw new ModelLoadError(
      BUILD,
      'face-api resolved a different copy of @tensorflow/tfjs than @ragan/data (two tfjs engines in one process); install one @tensorflow/tfjs version so ' +
        'both resolve the same package',
    );
  }
}
