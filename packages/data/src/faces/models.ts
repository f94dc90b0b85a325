import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ConfigError, ModelLoadError } from '@ragan/core';
import { faceApiModelDir, getFaceApi, type FaceApi, type FaceApiNet } from './face-api.js';

/** Which face-api networks to load. */
export interface FaceModelsOptions {
  /**
   * Face detector: `ssd` (SSD MobileNetV1, 5.6 MB, accurate, ~0.3-0.6 s per photo on wasm) or `tiny`
   * (Tiny Face Detector, 190 kB, faster, misses small and rotated faces). Default `ssd`.
   */
  detector?: 'ssd' | 'tiny';
  /** 68-point landmark net: `full` (350 kB) or `tiny` (77 kB, less precise). Default `full`. */
  landmarks?: 'full' | 'tiny';
  /** Also load the age/gender regressor (for `estimateAge`). Default true. */
  age?: boolean;
  /** Also load the 128-D face-recognition net (for `faceEmbedding`). Default true. */
  recognition?: boolean;
  /** Folder with face-api's `*-weights_manifest.json` + `.bin` files. Default: the one inside @vladmandic/face-api. */
  modelDir?: string;
}

/** The loaded networks. Owned by the per-process cache: dispose them with `disposeFaceModels()`, not directly. */
export interface FaceModels {
  readonly faceapi: FaceApi;
  readonly detector: 'ssd' | 'tiny';
  readonly landmarks: 'full' | 'tiny';
  readonly modelDir: string;
  /** Networks loaded so far, by face-api file name (`ssd_mobilenetv1_model`, ...). */
  readonly loaded: ReadonlySet<string>;
}

const FILES = {
  ssd: 'ssd_mobilenetv1_model',
  tiny: 'tiny_face_detector_model',
  landmarksFull: 'face_landmark_68_model',
  landmarksTiny: 'face_landmark_68_tiny_model',
  age: 'age_gender_model',
  recognition: 'face_recognition_model',
} as const;

interface State {
  modelDir: string;
  loaded: Set<string>;
  pending: Map<string, Promise<void>>;
}
let state: State | undefined;

/**
 * Loads face-api's networks from disk (no network access: manifests and `.bin` shards are read with
 * `fs` and decoded with `tf.io.decodeWeights`). Cached per process: networks already loaded are reused,
 * missing ones are added, so calling it from several modules is cheap. Uses whatever tfjs backend is
 * active; call `initBackend`/`initNodeBackend` from @ragan/core first.
 *
 * Throws ModelLoadError naming the file when a manifest or shard is missing or malformed, ConfigError on
 * a bad option, or when `modelDir` differs from the folder already loaded in this process.
 */
export async function loadFaceModels(options: FaceModelsOptions = {}): Promise<FaceModels> {
  const detector = options.detector ?? 'ssd';
  const landmarks = options.landmarks ?? 'full';
  if (detector !== 'ssd' && detector !== 'tiny') throw new ConfigError('detector', `expected 'ssd' or 'tiny', got ${JSON.stringify(detector)}`);
  if (landmarks !== 'full' && landmarks !== 'tiny') throw new ConfigError('landmarks', `expected 'full' or 'tiny', got ${JSON.stringify(landmarks)}`);
  const modelDir = options.modelDir ?? faceApiModelDir();
  if (state && state.modelDir !== modelDir) {
    throw new ConfigError(
      'modelDir',
      `face models are already loaded from ${state.modelDir} in this process; call disposeFaceModels() before loading from ${modelDir}`,
    );
  }
  const faceapi = getFaceApi();
  await tf.ready();
  const s: State = (state ??= { modelDir, loaded: new Set(), pending: new Map() });

  const wanted: Array<[string, FaceApiNet]> = [
    detector === 'ssd' ? [FILES.ssd, faceapi.nets.ssdMobilenetv1] : [FILES.tiny, faceapi.nets.tinyFaceDetector],
    landmarks === 'full' ? [FILES.landmarksFull, faceapi.nets.faceLandmark68Net] : [FILES.landmarksTiny, faceapi.nets.faceLandmark68TinyNet],
  ];
  if (options.age ?? true) wanted.push([FILES.age, faceapi.nets.ageGenderNet]);
  if (options.recognition ?? true) wanted.push([FILES.recognition, faceapi.nets.faceRecognitionNet]);

  await Promise.all(
    wanted.map(([file, net]) => {
      if (s.loaded.has(file)) return undefined;
      let p = s.pending.get(file);
      if (!p) {
        p = loadNet(net, modelDir, file).then(
          () => {
            s.loaded.add(file);
            s.pending.delete(file);
          },
          (e: unknown) => {
            s.pending.delete(file);
            throw e;
          },
        );
        s.pending.set(file, p);
      }
      return p;
    }),
  );
  return { faceapi, detector, landmarks, modelDir, loaded: s.loaded };
}

/** Disposes every loaded face network's weights and clears the cache (the next load reads the files again). */
export function disposeFaceModels(): void {
  if (!state) return;
  const faceapi = getFaceApi();
  for (const net of Object.values(faceapi.nets) as FaceApiNet[]) {
    if (net.isLoaded) net.dispose(false);
  }
  state = undefined;
}

/** The cached models if the given networks are loaded, else throws a ModelLoadError saying to call loadFaceModels. */
export function requireFaceModels(what: keyof typeof FILES | 'detector' | 'landmarks', caller: string): FaceModels {
  const s = state;
  const faceapi = getFaceApi();
  const has = (f: string) => s?.loaded.has(f) ?? false;
  const ok =
    what === 'detector' ? has(FILES.ssd) || has(FILES.tiny) : what === 'landmarks' ? has(FILES.landmarksFull) || has(FILES.landmarksTiny) : has(FILES[what]);
  if (!s || !ok) {
    throw new ModelLoadError(caller, `the ${what} face model is not loaded; call loadFaceModels() first`);
  }
  return {
    faceapi,
    detector: has(FILES.ssd) ? 'ssd' : 'tiny',
    landmarks: has(FILES.landmarksFull) ? 'full' : 'tiny',
    modelDir: s.modelDir,
    loaded: s.loaded,
  };
}

interface ManifestGroup {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
}

/** Reads `<file>-weights_manifest.json` and its shards, decodes them and hands the tensors to the net. */
async function loadNet(net: FaceApiNet, dir: string, file: string): Promise<void> {
  const manifestPath = join(dir, `${file}-weights_manifest.json`);
  let manifest: ManifestGroup[];
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as ManifestGroup[];
  } catch (e) {
    throw new ModelLoadError(manifestPath, `cannot read the weights manifest (${(e as Error).message})`, { cause: e });
  }
  if (!Array.isArray(manifest) || manifest.some((g) => !Array.isArray(g?.paths) || !Array.isArray(g?.weights))) {
    throw new ModelLoadError(manifestPath, 'not a tfjs weights manifest (expected [{ paths, weights }])');
  }
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: ArrayBuffer[] = [];
  for (const group of manifest) {
    specs.push(...group.weights);
    for (const p of group.paths) {
      if (p.includes('..') || p.startsWith('/')) throw new ModelLoadError(manifestPath, `refusing shard path ${JSON.stringify(p)} outside the model folder`);
      const shard = join(dir, p);
      let buf: Buffer;
      try {
        buf = await readFile(shard);
      } catch (e) {
        throw new ModelLoadError(shard, `cannot read the weights shard (${(e as Error).message})`, { cause: e });
      }
      buffers.push(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
    }
  }
  let weightMap: tf.NamedTensorMap;
  try {
    weightMap = tf.io.decodeWeights(buffers, specs);
  } catch (e) {
    throw new ModelLoadError(manifestPath, `the shards do not match the manifest (${(e as Error).message})`, { cause: e });
  }
  try {
    // face-api keeps the tensors it maps and disposes the ones it does not use.
    net.loadFromWeightMap(weightMap);
  } catch (e) {
    tf.dispose(Object.values(weightMap));
    throw new ModelLoadError(manifestPath, `face-api rejected the weights (${(e as Error).message})`, { cause: e });
  }
}
