import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { createGenerator } from '../models/generator.js';
import { groupTarget, ageTarget } from '../models/targets.js';
import { resolveModelConfig, type ModelConfig } from '../config/presets.js';
import { getAgeGroupSet } from '../config/age-groups.js';
import { reageFaces, reageFacesAsync } from '../inference.js';
import { loadOnnxRuntime } from '@ragan/backend/node';
import { encodeOnnxModel } from '@ragan/backend';
import { generatorToOnnx } from './export-generator.js';
import { createOnnxGenerator, OnnxMismatchError, type OrtModuleLike } from './runtime.js';
import { expectTensorsClose } from '@ragan/test-utils/tensors';

const ortModule = ort as unknown as OrtModuleLike;

/** A generator whose biases, CBN tables and moving statistics are all non-trivial (fresh ones are 0/1). */
function perturbedGenerator(resolution: number, seed: number, over: Partial<ModelConfig> = {}) {
  const g = createGenerator(resolveModelConfig({ preset: 'tiny', resolution, ...over }), { seed });
  let s = seed;
  for (const w of g.weights()) {
    if (/(bias|gamma|beta|moving_mean)$/.test(w.name)) {
      w.variable.assign(tf.tidy(() => tf.add(w.variable, tf.randomUniform(w.variable.shape, -0.3, 0.3, 'float32', ++s))));
    } else if (/moving_variance$/.test(w.name)) {
      w.variable.assign(tf.randomUniform(w.variable.shape, 0.5, 2, 'float32', ++s));
    }
  }
  return g;
}

describe('ONNX export of the generator', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('the protobuf writer makes models ONNX Runtime runs (Add of a constant and the input)', async () => {
    const bytes = encodeOnnxModel({
      producerName: 'test',
      producerVersion: '0',
      opsetVersion: 17,
      graphName: 'g',
      nodes: [
        { opType: 'Add', inputs: ['x', 'c'], outputs: ['y'], name: 'add' },
        { opType: 'LeakyRelu', inputs: ['y'], outputs: ['z'], name: 'lrelu', attrs: { alpha: { float: 0.5 } } },
      ],
      initializers: [{ name: 'c', dims: [3], data: new Float32Array([1, -2, 3.5]) }],
      inputs: [{ name: 'x', dims: ['N', 3] }],
      outputs: [{ name: 'z', dims: ['N', 3] }],
    });
    const session = await ort.InferenceSession.create(bytes);
    const out = await session.run({ x: new ort.Tensor('float32', new Float32Array([0, 0, 0, 1, 1, -10]), [2, 3]) });
    expect(Array.from(out.z!.data as Float32Array)).toEqual([1, -1, 3.5, 2, -0.5, -3.25]);
    await session.release();
  });

  it('ONNX Runtime matches Generator.apply within 1e-4 for one-hot and blended targets, soft masks, batch 3', async () => {
    const g = perturbedGenerator(32, 3);
    const before = tf.memory().numTensors;
    const onnx = await createOnnxGenerator(ortModule, g, { threads: 1 });
    expect(onnx.maxAbsDiff).toBeLessThan(1e-4);
    const set = getAgeGroupSet(g.config.ageGroups);
    const x = tf.randomUniform([3, 32, 32, 3], -1, 1, 'float32', 11) as tf.Tensor4D;
    const m = tf.randomUniform([3, 32, 32, 1], 0, 1, 'float32', 12) as tf.Tensor4D;
    const targets = [groupTarget([0, 4, 9], 10), ageTarget([7, 33, 61], set)];
    for (const w of targets) {
      const a = await onnx.apply(x, m, w);
      const b = g.apply(x, m, w);
      expectTensorsClose(a, b, 1e-4);
      // the output really depends on the target (so the comparison above is not vacuous)
      tf.dispose([a, b]);
    }
    // a mask at another size is resized as Generator.apply does
    const small = tf.randomUniform([3, 16, 16, 1], 0, 1, 'float32', 13) as tf.Tensor4D;
    const c = await onnx.apply(x, small, targets[0]!);
    const d = g.apply(x, small, targets[0]!);
    expectTensorsClose(c, d, 1e-4);
    tf.dispose([c, d, small, ...targets, x, m]);
    await onnx.dispose();
    expect(tf.memory().numTensors).toBe(before);
    g.dispose();
  });

  it('encoderMask "every-block": ONNX Runtime matches Generator.apply within 1e-4 (soft mask, masked features zero)', async () => {
    const g = perturbedGenerator(32, 4, { encoderMask: 'every-block' });
    const stemOnly = perturbedGenerator(32, 4); // the same weights, masked at the stem only
    const before = tf.memory().numTensors;
    const onnx = await createOnnxGenerator(ortModule, g, { threads: 1 });
    const x = tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 21) as tf.Tensor4D;
    // left half background, right half a soft face
    const m = tf.tidy(() =>
      tf.mul(tf.randomUniform([2, 32, 32, 1], 0, 1, 'float32', 22), tf.concat([tf.zeros([2, 32, 16, 1]), tf.ones([2, 32, 16, 1])], 2)),
    ) as tf.Tensor4D;
    const w = groupTarget([2, 8], 10);
    const a = await onnx.apply(x, m, w);
    const b = g.apply(x, m, w);
    expectTensorsClose(a, b, 1e-4);
    // masking every block changes the output (so the comparison above tests the export's masks)
    const c = stemOnly.apply(x, m, w);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(b, c))).dataSync()[0]!)).toBeGreaterThan(1e-3);
    tf.dispose([a, b, c, x, m, w]);
    await onnx.dispose();
    expect(tf.memory().numTensors).toBe(before);
    stemOnly.dispose();
    g.dispose();
  });

  it('different targets give different outputs through ONNX Runtime (the target input is wired)', async () => {
    const g = perturbedGenerator(32, 5);
    const onnx = await createOnnxGenerator(ortModule, g);
    const x = tf.randomUniform([1, 32, 32, 3], -1, 1, 'float32', 2) as tf.Tensor4D;
    const m = tf.ones([1, 32, 32, 1]) as tf.Tensor4D;
    const [w0, w9] = [groupTarget([0], 10), groupTarget([9], 10)];
    const [a, b] = [await onnx.apply(x, m, w0), await onnx.apply(x, m, w9)];
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeGreaterThan(1e-3);
    tf.dispose([x, m, w0, w9, a, b]);
    await onnx.dispose();
    g.dispose();
  });

  it('reageFacesAsync through ONNX Runtime equals reageFaces on tfjs (crops of two sizes, keepDetail)', async () => {
    const g = perturbedGenerator(32, 7);
    const onnx = await createOnnxGenerator(ortModule, g);
    const crops = [tf.randomUniform([64, 64, 3], -1, 1, 'float32', 1) as tf.Tensor3D, tf.randomUniform([32, 32, 3], -1, 1, 'float32', 2) as tf.Tensor3D];
    const masks = [tf.ones([64, 64, 1]) as tf.Tensor3D, tf.randomUniform([32, 32, 1], 0, 1, 'float32', 3) as tf.Tensor3D];
    for (const opts of [{}, { keepDetail: true, batchSize: 1 }]) {
      const a = await reageFacesAsync(g, crops, masks, { age: 45 }, { ...opts, forward: onnx.apply });
      const b = reageFaces(g, crops, masks, { age: 45 }, opts);
      expect(a.map((t) => t.shape)).toEqual([
        [64, 64, 3],
        [32, 32, 3],
      ]);
      a.forEach((t, i) => expectTensorsClose(t, b[i]!, 1e-4));
      tf.dispose([...a, ...b]);
    }
    tf.dispose([...crops, ...masks]);
    await onnx.dispose();
    g.dispose();
  });

  it('refuses a runtime whose output differs from tfjs (OnnxMismatchError), releasing the session', async () => {
    const g = perturbedGenerator(32, 9);
    let released = false;
    const zeros: OrtModuleLike = {
      Tensor: ortModule.Tensor,
      InferenceSession: {
        create: async () => ({
          run: async (feeds) => ({
            output: new ortModule.Tensor('float32', new Float32Array(32 * 32 * 3 * feeds.image!.dims[0]!), [feeds.image!.dims[0]!, 32, 32, 3]),
          }),
          release: async () => {
            released = true;
          },
        }),
      },
    };
    const err = await createOnnxGenerator(zeros, g).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OnnxMismatchError);
    expect((err as OnnxMismatchError).maxAbsDiff).toBeGreaterThan(1e-2);
    expect(released).toBe(true);
    g.dispose();
  });

  it('the model records its resolution and groups; the graph is NHWC at its edges', () => {
    const g = createGenerator(resolveModelConfig({ preset: 'tiny', resolution: 32 }));
    const bytes = generatorToOnnx(g, { metadata: { sha256: 'abc' } });
    const text = new TextDecoder('latin1').decode(bytes);
    for (const s of ['ragan_generator', 'image', 'mask', 'target', 'output', 'sha256', 'ffhq-aging-10']) expect(text).toContain(s);
    g.dispose();
  });
});

describe('loadOnnxRuntime', () => {
  it('finds onnxruntime-node; a missing module or a broken binding is "not available" with the reason', async () => {
    const found = await loadOnnxRuntime((s) => import(s));
    expect(found.ok).toBe(true);
    const missing = await loadOnnxRuntime(async () => {
      throw Object.assign(new Error("Cannot find package 'onnxruntime-node'"), { code: 'ERR_MODULE_NOT_FOUND' });
    });
    expect(missing).toEqual({ ok: false, reason: 'onnxruntime-node is not installed' });
    const broken = await loadOnnxRuntime(async () => {
      throw new Error('libonnxruntime.so.1: cannot open shared object file\n  at dlopen');
    });
    expect(broken).toEqual({ ok: false, reason: 'onnxruntime-node did not load (libonnxruntime.so.1: cannot open shared object file)' });
  });
});
