/**
 * Runs the generator through ONNX Runtime (`onnxruntime-node` in Node, `onnxruntime-web` in browsers),
 * checked against tfjs: a session is only handed out when its output matches `Generator.apply` within
 * a tolerance (default 1e-4) on a probe batch. The caller passes the ONNX Runtime module: @ragan/core
 * does not depend on it (it is large and optional); `loadOnnxRuntime` in `@ragan/backend/node` finds it.
 */
import * as tf from '@tensorflow/tfjs';
import type { OrtModuleLike, OrtSessionLike } from '@ragan/backend';
import { ModelLoadError } from '../errors/index.js';
import type { Generator } from '../models/generator.js';
import { generatorToOnnx, ONNX_INPUTS, ONNX_OUTPUT } from './export-generator.js';

/** The part of ONNX Runtime's JavaScript API used here (onnxruntime-common's types, structurally), from @ragan/backend. */
export type { OrtModuleLike, OrtSessionLike, OrtTensorLike } from '@ragan/backend';

/** The tolerance `createOnnxGenerator` checks by default (max absolute difference, outputs in [-1, 1]). */
export const ONNX_TOLERANCE = 1e-4;

export interface OnnxGeneratorOptions {
  /** Intra-op threads (onnxruntime-node). Default: ONNX Runtime's own default (all cores). */
  threads?: number;
  /** Largest accepted |ORT − tfjs| on the probe batch. Default 1e-4. */
  tolerance?: number;
  /** Extra session options (e.g. `executionProviders`). */
  sessionOptions?: Record<string, unknown>;
}

/** Raised when the ONNX Runtime output disagrees with tfjs: the caller should run tfjs instead. */
export class OnnxMismatchError extends Error {
  constructor(
    readonly maxAbsDiff: number,
    readonly tolerance: number,
  ) {
    super(`ONNX Runtime's output differs from tfjs by up to ${maxAbsDiff.toExponential(2)} (tolerance ${tolerance.toExponential(0)})`);
    this.name = 'OnnxMismatchError';
  }
}

/** A generator running in ONNX Runtime, verified against tfjs. */
export interface OnnxGenerator {
  /** Same contract as `Generator.apply` in inference mode; the mask is resized to the image's size if needed. */
  apply(x: tf.Tensor4D, mask: tf.Tensor4D, target: tf.Tensor2D): Promise<tf.Tensor4D>;
  /** Largest |ORT − tfjs| measured on the probe batch. */
  readonly maxAbsDiff: number;
  /** Size of the ONNX model in bytes. */
  readonly onnxBytes: number;
  dispose(): Promise<void>;
}

/**
 * The probe: one random image with a soft disc mask (face and background both present) and a target
 * blending two groups (checks the CBN tables as well as one-hot targets would). Batch 1 keeps the tfjs
 * reference forward cheap on big models.
 */
function probe(generator: Generator): { x: tf.Tensor4D; m: tf.Tensor4D; w: tf.Tensor2D } {
  const r = generator.config.resolution;
  const k = generator.numGroups;
  return tf.tidy(() => {
    const x = tf.randomUniform([1, r, r, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
    const ys = tf.linspace(-1, 1, r);
    const d = tf.add(tf.square(ys.reshape([r, 1])), tf.square(ys.reshape([1, r])));
    const m = tf.clipByValue(tf.mul(tf.sub(0.8, d), 4), 0, 1).reshape([1, r, r, 1]) as tf.Tensor4D;
    const w = new Float32Array(k);
    w[0] = 0.25;
    w[k - 1] = (w[k - 1] ?? 0) + 0.75;
    return { x, m, w: tf.tensor2d(w, [1, k]) };
  });
}

/**
 * Exports `generator` to ONNX, opens an ONNX Runtime session and checks it against tfjs on a probe
 * batch. Throws OnnxMismatchError when they disagree by more than the tolerance, ModelLoadError when ONNX
 * Runtime refuses the model. The returned object keeps no tfjs tensor; dispose() releases the session.
 */
export async function createOnnxGenerator(ort: OrtModuleLike, generator: Generator, options: OnnxGeneratorOptions = {}): Promise<OnnxGenerator> {
  const tolerance = options.tolerance ?? ONNX_TOLERANCE;
  const bytes = generatorToOnnx(generator);
  const sessionOptions: Record<string, unknown> = { graphOptimizationLevel: 'all', ...options.sessionOptions };
  if (options.threads !== undefined) {
    sessionOptions.intraOpNumThreads = options.threads;
    sessionOptions.interOpNumThreads = 1;
  }
  let session: OrtSessionLike;
  try {
    session = await ort.InferenceSession.create(bytes, sessionOptions);
  } catch (e) {
    throw new ModelLoadError('generator.onnx', `ONNX Runtime refused the exported generator: ${e instanceof Error ? e.message : String(e)}`);
  }
  const res = generator.config.resolution;
  const k = generator.numGroups;

  const apply = async (x: tf.Tensor4D, mask: tf.Tensor4D, target: tf.Tensor2D): Promise<tf.Tensor4D> => {
    const n = x.shape[0];
    if (x.shape[1] !== res || x.shape[2] !== res || x.shape[3] !== 3)
      throw new ModelLoadError('generator.onnx', `takes [N, ${res}, ${res}, 3] images, got [${x.shape.join(', ')}]`);
    if (target.shape[0] !== n || target.shape[1] !== k)
      throw new ModelLoadError('generator.onnx', `takes [${n}, ${k}] targets, got [${target.shape.join(', ')}]`);
    const m = mask.shape[1] === res && mask.shape[2] === res ? mask : tf.image.resizeBilinear(mask, [res, res]);
    try {
      // Any dtype in (targets may be int32 one-hots), float32 out.
      const f32 = async (t: tf.Tensor): Promise<Float32Array> => {
        const v = await t.data();
        return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
      };
      const feeds = {
        [ONNX_INPUTS.image]: new ort.Tensor('float32', await f32(x), x.shape),
        [ONNX_INPUTS.mask]: new ort.Tensor('float32', await f32(m), m.shape),
        [ONNX_INPUTS.target]: new ort.Tensor('float32', await f32(target), target.shape),
      };
      const out = await session.run(feeds);
      const y = out[ONNX_OUTPUT];
      if (!y || !(y.data instanceof Float32Array)) throw new ModelLoadError('generator.onnx', 'ONNX Runtime returned no float output');
      const result = tf.tensor4d(y.data, [n, res, res, 3]);
      for (const t of [...Object.values(feeds), ...Object.values(out)]) t.dispose?.();
      return result;
    } finally {
      if (m !== mask) m.dispose();
    }
  };

  const p = probe(generator);
  let maxAbsDiff: number;
  try {
    const ours = await apply(p.x, p.m, p.w);
    const ref = generator.apply(p.x, p.m, p.w);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(ours, ref))));
    maxAbsDiff = (await diff.data())[0]!;
    tf.dispose([ours, ref, diff]);
  } catch (e) {
    await session.release?.();
    throw e;
  } finally {
    tf.dispose([p.x, p.m, p.w]);
  }
  if (!(maxAbsDiff <= tolerance)) {
    await session.release?.();
    throw new OnnxMismatchError(maxAbsDiff, tolerance);
  }
  return {
    apply,
    maxAbsDiff,
    onnxBytes: bytes.byteLength,
    dispose: async () => {
      await session.release?.();
    },
  };
}
