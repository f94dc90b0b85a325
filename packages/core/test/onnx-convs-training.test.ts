import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { initBackend, setWasmWinograd } from '@ragan/backend';
import { disableOnnxConvKernels, enableOnnxConvKernels, loadOnnxRuntimeBinding, onnxConvStats, type OnnxNativeBinding } from '@ragan/backend/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRagan } from '../src/ragan.js';
import { GanTrainer } from '../src/training/gan-trainer.js';

// A whole model through ONNX Runtime's convolutions (@ragan/backend/node): the model-level check of the
// layer-by-layer tests in @ragan/backend (src/node/onnx-conv-kernels.test.ts). onnxruntime-node is a
// devDependency of core, so this test always has it.

let binding: OnnxNativeBinding;

beforeAll(async () => {
  // The wasm reference is XNNPACK's direct convolution: Winograd rounds differently, by ≈1e-5 of the largest value.
  await initBackend({ backend: 'wasm', quiet: true, wasmWinograd: false });
  const probe = await loadOnnxRuntimeBinding((s) => import(s));
  if (!probe.ok) throw new Error(`onnxruntime-node should load in tests: ${probe.reason}`);
  binding = probe.binding;
});

afterEach(() => disableOnnxConvKernels());
afterAll(() => {
  disableOnnxConvKernels();
  setWasmWinograd({ enabled: true });
});

function relDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return d / Math.max(s, 1e-12);
}

describe('ONNX Runtime convolutions on the wasm backend, a whole model', () => {
  it('a tiny GAN training step gives the same losses, and G and D the same weight gradients, as on wasm', () => {
    const step = () => {
      const model = createRagan('tiny', { seed: 1 });
      const res = model.config.resolution;
      const images = tf.randomUniform([2, res, res, 3], -1, 1, 'float32', 2) as tf.Tensor4D;
      const masks = tf.ones([2, res, res, 1]) as tf.Tensor4D;
      const trainer = new GanTrainer({ ...model, numGroups: 10, r1Every: 1 });
      const r = trainer.trainStep({ images, masks, groups: [1, 7] });
      trainer.dispose();
      tf.dispose([images, masks]);
      model.dispose();
      return r.losses;
    };
    // Gradients of D(G(x)) with respect to every weight of both (weights after an Adam step are no
    // test: Adam turns a near-zero gradient's rounding into a ±lr step).
    const grads = () => {
      const model = createRagan('tiny', { seed: 1 });
      const res = model.config.resolution;
      const vars = [...model.generator.weights(), ...model.discriminator.weights()].filter((p) => p.trainable).map((p) => p.variable);
      const out = tf.tidy(() => {
        const x = tf.randomUniform([2, res, res, 3], -1, 1, 'float32', 2) as tf.Tensor4D;
        const mask = tf.ones([2, res, res, 1]) as tf.Tensor4D;
        const target = tf.oneHot([1, 7], 10).toFloat() as tf.Tensor2D;
        const { grads: g } = tf.variableGrads(
          () => tf.sum(model.discriminator.apply(model.generator.apply(x, mask, target, { training: true }), { training: true })) as tf.Scalar,
          vars,
        );
        return vars.map((v) => g[v.name]!.dataSync().slice() as Float32Array);
      });
      model.dispose();
      return out;
    };
    const wasmLosses = step();
    const wasmGrads = grads();
    enableOnnxConvKernels(binding, { threads: 2 });
    const onnxLosses = step();
    const onnxGrads = grads();
    expect(onnxConvStats().onnx).toBeGreaterThan(50);
    expect(onnxConvStats().rejected).toBe(0);
    for (const [k, v] of Object.entries(wasmLosses)) expect(onnxLosses[k], k).toBeCloseTo(v as number, 4);
    expect(onnxGrads.length).toBe(wasmGrads.length);
    // Through the whole network the two differ by up to ~4e-4 of a gradient's largest value (seen
    // 3.6e-4), while wasm and cpu agree within ~3e-6: those two sum in the same order, so their rounding
    // errors match. ONNX Runtime sums in another order and is the more accurate one (next test).
    const worst = Math.max(...wasmGrads.map((g, i) => relDiff(onnxGrads[i]!, g)));
    expect(worst).toBeLessThan(1e-3);
  });
});
