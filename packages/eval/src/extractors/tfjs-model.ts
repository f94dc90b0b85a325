import * as tf from '@tensorflow/tfjs';
import { ConfigError, ModelLoadError, RaganError, sha256Hex, type ModelStore } from '@ragan/core';
import { z } from 'zod';
import type { FeatureExtractor } from '../interfaces.js';

/** Optional `feature-extractor.json` beside `model.json`: how to feed the network and read its features. */
export const featureExtractorConfigSchema = z
  .object({
    /** Shown in results. Default "inception (user-supplied)". */
    name: z.string().min(1).max(200).optional(),
    /** Square input side the images are resized to (bilinear). Default 299 (Inception-v3). */
    inputSize: z.number().int().min(8).max(1024).optional(),
    /** Pixel range the network expects: `byte` 0..255 (the TF FID graph; default), `unit` 0..1, `signed` -1..1. */
    inputRange: z.enum(['byte', 'unit', 'signed']).optional(),
    /** Graph models: output node to read (e.g. `pool_3`). Default: the model's first output. */
    outputNode: z.string().min(1).max(200).optional(),
    /** Images per forward pass. Default 8 (Inception at 299² is large). */
    batchSize: z.number().int().min(1).max(1024).optional(),
  })
  .strict();
export type FeatureExtractorConfig = z.infer<typeof featureExtractorConfigSchema>;
export const FEATURE_EXTRACTOR_CONFIG = 'feature-extractor.json';
const MODEL_JSON = 'model.json';

interface ModelJson {
  format?: string;
  modelTopology: unknown;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
}

async function readJson(store: ModelStore, path: string, maxBytes: number): Promise<unknown> {
  const bytes = await store.read(path, { maxBytes });
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new ModelLoadError(`${store.describe()}/${path}`, `is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}

async function exists(store: ModelStore, path: string): Promise<boolean> {
  try {
    await store.read(path, { maxBytes: 1 << 20 });
    return true;
  } catch (e) {
    if (RaganError.isInstance(e) && /no such|missing|not found|ENOENT/i.test(e.message)) return false;
    throw e;
  }
}

/**
 * A FeatureExtractor from a TensorFlow.js model folder (`model.json` + weight shards, graph or layers
 * format), read through a ModelStore (so paths in model.json cannot leave the folder). Images in
 * [-1, 1] are resized to `inputSize` and mapped to `inputRange`; outputs are flattened to `[N, D]`.
 *
 * `standard: true` is for the FID Inception weights (pt_inception-2015-12-05, converted as in
 * docs/eval-protocol.md) and is refused unless the features are 2048-D. The weights' SHA-256 (of
 * model.json and every shard, in manifest order) is recorded so readers can check which network it was.
 */
export async function loadTfjsFeatureExtractor(
  store: ModelStore,
  opts: { standard?: boolean; name?: string } = {},
): Promise<FeatureExtractor & { dispose(): void }> {
  const where = store.describe();
  const modelJsonBytes = await store.read(MODEL_JSON, { maxBytes: 64 * 1024 * 1024 });
  let json: ModelJson;
  try {
    json = JSON.parse(new TextDecoder().decode(modelJsonBytes)) as ModelJson;
  } catch (e) {
    throw new ModelLoadError(`${where}/${MODEL_JSON}`, `is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (!json || typeof json !== 'object' || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new ModelLoadError(
      `${where}/${MODEL_JSON}`,
      'is not a TensorFlow.js model (needs modelTopology and weightsManifest); convert the network with tensorflowjs_converter',
    );
  }
  let config: FeatureExtractorConfig = {};
  if (await exists(store, FEATURE_EXTRACTOR_CONFIG)) {
    const parsed = featureExtractorConfigSchema.safeParse(await readJson(store, FEATURE_EXTRACTOR_CONFIG, 1 << 20));
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      throw new ConfigError(`${FEATURE_EXTRACTOR_CONFIG}.${i.path.join('.') || '(root)'}`, `${i.message} (in ${where})`);
    }
    config = parsed.data;
  }

  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [modelJsonBytes];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) parts.push(await store.read(p, { maxBytes: 512 * 1024 * 1024 }));
    specs.push(...group.weights);
  }
  const shardBytes = parts.slice(1);
  const weightData = new Uint8Array(shardBytes.reduce((n, b) => n + b.byteLength, 0));
  let o = 0;
  for (const b of shardBytes) {
    weightData.set(b, o);
    o += b.byteLength;
  }
  const hashInput = new Uint8Array(modelJsonBytes.byteLength + weightData.byteLength);
  hashInput.set(modelJsonBytes);
  hashInput.set(weightData, modelJsonBytes.byteLength);
  const weightsSha256 = await sha256Hex(hashInput);

  const handler = tf.io.fromMemory({
    modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
    weightSpecs: specs,
    weightData: weightData.buffer,
  });
  const isGraph = json.format === 'graph-model' || (!json.format && !(json.modelTopology as { class_name?: string }).class_name);
  let run: (x: tf.Tensor4D) => tf.Tensor;
  let dispose: () => void;
  try {
    if (isGraph) {
      const model = await tf.loadGraphModel(handler);
      run = (x) => (config.outputNode ? (model.execute(x, config.outputNode) as tf.Tensor) : (model.predict(x) as tf.Tensor));
      dispose = () => model.dispose();
    } else {
      const model = await tf.loadLayersModel(handler);
      run = (x) => model.predict(x) as tf.Tensor;
      dispose = () => model.dispose();
    }
  } catch (e) {
    throw new ModelLoadError(`${where}/${MODEL_JSON}`, `TensorFlow.js could not load the model: ${(e as Error).message}`, { cause: e });
  }

  const size = config.inputSize ?? 299;
  const range = config.inputRange ?? 'byte';
  const batchSize = config.batchSize ?? 8;
  const forward = (images: tf.Tensor4D): tf.Tensor2D =>
    tf.tidy(() => {
      const resized = images.shape[1] === size && images.shape[2] === size ? images : tf.image.resizeBilinear(images, [size, size]);
      const x = range === 'signed' ? resized : range === 'unit' ? tf.div(tf.add(resized, 1), 2) : tf.mul(tf.add(resized, 1), 127.5);
      const y = run(x as tf.Tensor4D);
      return tf.reshape(y, [images.shape[0], -1]) as tf.Tensor2D;
    });

  // One probe image fixes D and checks the network runs on our input at all.
  const probe = tf.zeros([1, size, size, 3]) as tf.Tensor4D;
  let dims: number;
  try {
    const f = forward(probe);
    dims = f.shape[1];
    f.dispose();
  } catch (e) {
    dispose();
    throw new ModelLoadError(
      `${where}/${MODEL_JSON}`,
      `the model does not run on a [1, ${size}, ${size}, 3] image: ${(e as Error).message} (set inputSize/outputNode in ${FEATURE_EXTRACTOR_CONFIG})`,
      { cause: e },
    );
  } finally {
    probe.dispose();
  }
  const standard = opts.standard ?? false;
  if (standard && dims !== 2048) {
    dispose();
    throw new ModelLoadError(
      `${where}/${MODEL_JSON}`,
      `gives ${dims}-D features; the standard FID network (Inception-v3 pool_3) gives 2048 (set outputNode to pool_3 in ${FEATURE_EXTRACTOR_CONFIG})`,
    );
  }
  return {
    name: opts.name ?? config.name ?? (standard ? 'inception-v3 pool_3 (user-supplied)' : 'tfjs model (user-supplied)'),
    standard,
    dims,
    weightsSha256,
    async extract(images) {
      const outs: tf.Tensor2D[] = [];
      try {
        for (let s = 0; s < images.shape[0]; s += batchSize) {
          const n = Math.min(batchSize, images.shape[0] - s);
          const slice = tf.slice(images, [s, 0, 0, 0], [n, -1, -1, -1]);
          try {
            outs.push(forward(slice));
          } finally {
            slice.dispose();
          }
        }
        return outs.length === 1 ? outs.pop()! : (tf.concat(outs, 0) as tf.Tensor2D);
      } finally {
        tf.dispose(outs);
      }
    },
    dispose,
  };
}
