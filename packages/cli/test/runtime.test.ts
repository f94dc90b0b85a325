import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, createGenerator, initBackend, resolveModelConfig, type BackendInfo, type Generator } from '@ragan/core';
import { openGeneratorRuntime } from '../src/runtime.js';

const notInstalled = async (): Promise<unknown> => {
  throw Object.assign(new Error("Cannot find package 'onnxruntime-node'"), { code: 'ERR_MODULE_NOT_FOUND' });
};

describe('--runtime', () => {
  let wasm: BackendInfo;
  let g: Generator;
  beforeAll(async () => {
    wasm = await initBackend({ backend: 'cpu', quiet: true });
    g = createGenerator(resolveModelConfig({ preset: 'tiny', resolution: 32 }), { seed: 2 });
  });

  it('auto runs the generator in ONNX Runtime (installed as an optional dependency), checked against tfjs', async () => {
    const r = await openGeneratorRuntime(g, 'auto', wasm);
    expect(r.name).toMatch(/^onnxruntime-node \d+\.\d+\.\d+$/);
    expect(r.maxAbsDiff).toBeLessThan(1e-4);
    const x = tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
    const m = tf.ones([2, 32, 32, 1]) as tf.Tensor4D;
    const w = tf.oneHot([1, 8], 10).toFloat() as tf.Tensor2D;
    const [a, b] = [await r.forward!(x, m, w), g.apply(x, m, w)];
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeLessThan(1e-4);
    tf.dispose([x, m, w, a, b]);
    await r.dispose();
  });

  it('tfjs, a native backend under auto, and a missing ONNX Runtime under auto all stay on tfjs, saying why', async () => {
    expect(await openGeneratorRuntime(g, 'tfjs', wasm)).toMatchObject({ name: 'tfjs cpu', detail: '--runtime tfjs' });
    const native = { ...wasm, name: 'tensorflow' } as BackendInfo;
    expect(await openGeneratorRuntime(g, 'auto', native)).toMatchObject({ name: 'tfjs tensorflow', detail: 'auto: the tensorflow backend is used as is' });
    expect(await openGeneratorRuntime(g, undefined, wasm, { importModule: notInstalled })).toMatchObject({
      name: 'tfjs cpu',
      detail: 'auto: onnxruntime-node is not installed',
    });
  });

  it('--runtime onnx without ONNX Runtime is a ConfigError saying how to get it; unknown names are refused', async () => {
    const err = await openGeneratorRuntime(g, 'onnx', wasm, { importModule: notInstalled }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe('--runtime: onnxruntime-node is not installed; install it (npm install onnxruntime-node) or use --runtime tfjs');
    await expect(openGeneratorRuntime(g, 'gpu', wasm)).rejects.toThrow('--runtime: must be one of auto, onnx, tfjs, got "gpu"');
  });
});
