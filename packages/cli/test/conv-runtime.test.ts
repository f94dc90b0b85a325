import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, initBackend, type BackendInfo } from '@ragan/core';
import { disableOnnxConvKernels, onnxConvKernelsEnabled, onnxConvStats } from '@ragan/backend/node';
import { applyConvRuntime } from '../src/conv-runtime.js';

const notInstalled = async (): Promise<unknown> => {
  throw Object.assign(new Error("Cannot find package 'onnxruntime-node' imported from /app/cli.js"), { code: 'ERR_MODULE_NOT_FOUND' });
};

describe('--conv-runtime', () => {
  let wasm: BackendInfo;
  beforeAll(async () => {
    wasm = await initBackend({ backend: 'wasm', quiet: true });
  });
  afterEach(() => disableOnnxConvKernels());

  it('auto on wasm runs convolutions in ONNX Runtime (an optional dependency of the cli), and says so', async () => {
    const line = await applyConvRuntime(undefined, wasm, { threads: 2 });
    expect(line).toBe('ragan: convolutions run in ONNX Runtime (2 threads; each layer checked against wasm on first use; --conv-runtime wasm turns this off)');
    expect(onnxConvKernelsEnabled()).toBe(true);
    const x = tf.randomUniform([1, 16, 16, 32], -1, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomUniform([3, 3, 32, 32], -1, 1, 'float32', 2) as tf.Tensor4D;
    const y = tf.conv2d(x, w, 1, 'same');
    expect(onnxConvStats()).toMatchObject({ onnx: 1, rejected: 0 });
    tf.dispose([x, w, y]);
  });

  it('wasm, a backend other than wasm under auto, and a missing onnxruntime-node under auto change nothing', async () => {
    expect(await applyConvRuntime('wasm', wasm, { threads: 2 })).toBeUndefined();
    expect(await applyConvRuntime('auto', { ...wasm, name: 'tensorflow' } as BackendInfo, { threads: 2 })).toBeUndefined();
    expect(await applyConvRuntime('auto', wasm, { threads: 2, importModule: notInstalled })).toBe(
      'ragan: convolutions run in wasm (onnxruntime-node is not installed; `npm install onnxruntime-node` runs them natively)',
    );
    expect(onnxConvKernelsEnabled()).toBe(false);
  });

  it('onnx that cannot be honoured is a ConfigError saying what to do; unknown names are refused', async () => {
    const missing = await applyConvRuntime('onnx', wasm, { threads: 1, importModule: notInstalled }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ConfigError);
    expect((missing as Error).message).toBe(
      '--conv-runtime: onnxruntime-node is not installed; install it (npm install onnxruntime-node) or use --conv-runtime wasm',
    );
    const cpu = await applyConvRuntime('onnx', { ...wasm, name: 'cpu' } as BackendInfo, { threads: 1 }).catch((e: unknown) => e);
    expect((cpu as Error).message).toBe('--conv-runtime: onnx needs the wasm backend; this run uses cpu (give --backend wasm, or drop --conv-runtime)');
    await expect(applyConvRuntime('native', wasm, { threads: 1 })).rejects.toThrow('--conv-runtime: must be one of auto, onnx, wasm, got "native"');
    expect(onnxConvKernelsEnabled()).toBe(false);
  });
});
