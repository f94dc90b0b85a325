import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels, setWasmWinograd, wasmWinogradCalls } from '@ragan/backend';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveModelConfig } from '../src/config/presets.js';
import { createGenerator } from '../src/models/generator.js';
import { groupTarget } from '../src/models/targets.js';

// A whole generator with @ragan/backend's Winograd convolutions: the model-level check of the layer tests
// in @ragan/backend (src/wasm-winograd.test.ts).

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.setBackend('wasm');
  registerWasmTrainingKernels();
});

afterEach(() => {
  setWasmWinograd('defaults');
});

afterAll(() => {
  setWasmWinograd('defaults');
});

describe('a generator on wasm with Winograd', () => {
  it('gives the output of the direct convolution within 1e-4 on a soft face mask (what ONNX Runtime is held to)', () => {
    const g = createGenerator(resolveModelConfig({ preset: 'tiny' }), { seed: 1 });
    const r = g.config.resolution;
    const out = (winograd: boolean) => {
      setWasmWinograd(winograd ? { enabled: true, minMacs: 0, minTiles: 0 } : { enabled: false });
      wasmWinogradCalls(true);
      return tf.tidy(() => {
        const x = tf.randomUniform([1, r, r, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
        const ys = tf.linspace(-1, 1, r);
        const d = tf.add(tf.square(ys.reshape([r, 1])), tf.square(ys.reshape([1, r])));
        const mask = tf.clipByValue(tf.mul(tf.sub(0.8, d), 4), 0, 1).reshape([1, r, r, 1]) as tf.Tensor4D;
        return g.apply(x, mask, groupTarget([8], 10)).dataSync() as Float32Array;
      });
    };
    const direct = out(false);
    const wino = out(true);
    expect(wasmWinogradCalls().winograd).toBeGreaterThan(5);
    let worst = 0;
    for (let i = 0; i < direct.length; i++) worst = Math.max(worst, Math.abs(wino[i]! - direct[i]!));
    expect(worst).toBeLessThan(1e-4);
    g.dispose();
  });
});
