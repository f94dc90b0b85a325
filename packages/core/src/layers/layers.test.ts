import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { MODEL_TEST_BACKENDS, useStockBackend } from '../../test/helpers.js';
import { oneHot } from '../ops/one-hot.js';
import { ConditionalBatchNorm } from './conditional-batch-norm.js';
import { Conv2D } from './conv2d.js';
import { Dense } from './dense.js';
import { DiscriminatorBlock } from './discriminator-block.js';
import { ModulatedConv2D } from './modulated-conv2d.js';
import { ModulatedResBlock, ModulatedUpBlock } from './modulated-res-block.js';
import type { Module } from './module.js';
import { Rng } from '../random/rng.js';
import { layerFromConfig, registerLayers } from './registry.js';
import { ResBlock } from './res-block.js';

const rand = (shape: number[], seed: number) => tf.randomUniform(shape, -1, 1, 'float32', seed);
const shapesOf = (m: Module) => m.weights().map((w) => [w.name, w.variable.shape, w.trainable, w.lrMultiplier]);

function expectSameValues(a: Module, b: Module): void {
  const wa = a.weights();
  const wb = b.weights();
  expect(wa.map((w) => w.name)).toEqual(wb.map((w) => w.name));
  wa.forEach((w, i) => expect(Array.from(w.variable.dataSync())).toEqual(Array.from(wb[i]!.variable.dataSync())));
}

/** Builds each layer kind once; `apply` runs it on suitable inputs. */
const cases: Array<{
  kind: string;
  make: (rng: Rng) => Module;
  remake: (cfg: Record<string, unknown>, rng: Rng) => Module;
  inputs: () => tf.Tensor[];
  apply: (m: Module, ins: tf.Tensor[]) => tf.Tensor;
  shape: number[];
}> = [
  {
    kind: 'Conv2D',
    make: (r) => new Conv2D('c', { inChannels: 3, filters: 5, kernelSize: 3, strides: 2, padding: 1 }, r),
    remake: (c, r) => new Conv2D(c.name as string, c as never, r),
    inputs: () => [rand([2, 8, 8, 3], 1)],
    apply: (m, ins) => (m as Conv2D).apply(ins[0] as tf.Tensor4D),
    shape: [2, 4, 4, 5],
  },
  {
    kind: 'Dense',
    make: (r) => new Dense('d', { inputDim: 4, units: 6, biasInit: 1, lrMultiplier: 0.01 }, r),
    remake: (c, r) => new Dense(c.name as string, c as never, r),
    inputs: () => [rand([3, 4], 2)],
    apply: (m, ins) => (m as Dense).apply(ins[0] as tf.Tensor2D),
    shape: [3, 6],
  },
  {
    kind: 'ModulatedConv2D',
    make: (r) => new ModulatedConv2D('mc', { inChannels: 3, filters: 4, styleDim: 6 }, r),
    remake: (c, r) => new ModulatedConv2D(c.name as string, c as never, r),
    inputs: () => [rand([2, 5, 5, 3], 3), rand([2, 6], 4)],
    apply: (m, ins) => (m as ModulatedConv2D).apply(ins[0] as tf.Tensor4D, ins[1] as tf.Tensor2D),
    shape: [2, 5, 5, 4],
  },
  {
    kind: 'ConditionalBatchNorm',
    make: (r) => new ConditionalBatchNorm('cbn', { channels: 3, numClasses: 4 }, r),
    remake: (c, r) => new ConditionalBatchNorm(c.name as string, c as never, r),
    inputs: () => [rand([2, 3, 3, 3], 5), oneHot([1, 2], 4)],
    apply: (m, ins) => (m as ConditionalBatchNorm).apply(ins[0] as tf.Tensor4D, ins[1] as tf.Tensor2D),
    shape: [2, 3, 3, 3],
  },
  {
    kind: 'ResBlock',
    make: (r) => new ResBlock('rb', { inChannels: 3, filters: 6, down: true }, r),
    remake: (c, r) => new ResBlock(c.name as string, c as never, r),
    inputs: () => [rand([2, 8, 8, 3], 6)],
    apply: (m, ins) => (m as ResBlock).apply(ins[0] as tf.Tensor4D),
    shape: [2, 4, 4, 6],
  },
  {
    kind: 'ModulatedResBlock',
    make: (r) => new ModulatedResBlock('mrb', { inChannels: 4, filters: 4, styleDim: 5 }, r),
    remake: (c, r) => new ModulatedResBlock(c.name as string, c as never, r),
    inputs: () => [rand([2, 4, 4, 4], 7), rand([2, 5], 8)],
    apply: (m, ins) => (m as ModulatedResBlock).apply(ins[0] as tf.Tensor4D, ins[1] as tf.Tensor2D),
    shape: [2, 4, 4, 4],
  },
  {
    kind: 'ModulatedUpBlock',
    make: (r) => new ModulatedUpBlock('up', { inChannels: 4, filters: 2, styleDim: 5 }, r),
    remake: (c, r) => new ModulatedUpBlock(c.name as string, c as never, r),
    inputs: () => [rand([2, 4, 4, 4], 9), rand([2, 5], 10)],
    apply: (m, ins) => (m as ModulatedUpBlock).apply(ins[0] as tf.Tensor4D, ins[1] as tf.Tensor2D),
    shape: [2, 8, 8, 2],
  },
  {
    kind: 'DiscriminatorBlock',
    make: (r) => new DiscriminatorBlock('db', { inChannels: 3, filters: 6 }, r),
    remake: (c, r) => new DiscriminatorBlock(c.name as string, c as never, r),
    inputs: () => [rand([2, 8, 8, 3], 11)],
    apply: (m, ins) => (m as DiscriminatorBlock).apply(ins[0] as tf.Tensor4D),
    shape: [2, 4, 4, 6],
  },
];

for (const backend of MODEL_TEST_BACKENDS) {
  describe(`layers [${backend}]`, () => {
    beforeAll(async () => {
      await useStockBackend(backend);
    });

    for (const c of cases) {
      it(`${c.kind}: shape, no leaks, config round trip, seeded weights`, () => {
        const layer = c.make(new Rng(3));
        const ins = c.inputs();
        const before = tf.memory().numTensors;
        const y = c.apply(layer, ins);
        expect(y.shape).toEqual(c.shape);
        expect(Array.from(y.dataSync()).every(Number.isFinite)).toBe(true);
        y.dispose();
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose(ins);
        const cfg = layer.getConfig();
        const again = c.remake(JSON.parse(JSON.stringify(cfg)) as Record<string, unknown>, new Rng(3));
        expect(again.getConfig()).toEqual(cfg);
        expect(shapesOf(again)).toEqual(shapesOf(layer));
        expectSameValues(again, layer);
        registerLayers();
        const viaRegistry = layerFromConfig(c.kind, JSON.parse(JSON.stringify(cfg)) as { name: string }, new Rng(3));
        expectSameValues(viaRegistry, layer);
        viaRegistry.dispose();
        const other = c.make(new Rng(4));
        if (!(layer instanceof ConditionalBatchNorm))
          expect(Array.from(other.weights()[0]!.variable.dataSync())).not.toEqual(Array.from(layer.weights()[0]!.variable.dataSync()));
        tf.dispose(layer.weights().map((w) => w.variable));
        again.dispose();
        other.dispose();
      });
    }

    it('Dense records lrMultiplier and bias init; ModulatedConv2D affine has bias 1 and lr ×0.01', () => {
      const d = new Dense('d', { inputDim: 2, units: 3, biasInit: 1, lrMultiplier: 0.01 }, new Rng(1));
      expect(d.weights().map((w) => [w.name, w.lrMultiplier])).toEqual([
        ['d/kernel', 0.01],
        ['d/bias', 0.01],
      ]);
      expect(Array.from(d.bias!.dataSync())).toEqual([1, 1, 1]);
      const m = new ModulatedConv2D('m', { inChannels: 2, filters: 3, styleDim: 4 }, new Rng(1));
      expect(m.weights().map((w) => [w.name, w.variable.shape, w.lrMultiplier])).toEqual([
        ['m/kernel', [3, 3, 2, 3], 1],
        ['m/bias', [3], 1],
        ['m/affine/kernel', [4, 2], 0.01],
        ['m/affine/bias', [2], 0.01],
      ]);
      expect(Array.from(m.affine.bias!.dataSync())).toEqual([1, 1]);
      d.dispose();
      m.dispose();
    });

    it('ConditionalBatchNorm picks per-class parameters and updates moving stats only on request', () => {
      const cbn = new ConditionalBatchNorm('cbn', { channels: 2, numClasses: 3, momentum: 0.5 }, new Rng(1));
      expect(cbn.weights().map((w) => [w.name, w.trainable])).toEqual([
        ['cbn/gamma', true],
        ['cbn/beta', true],
        ['cbn/moving_mean', false],
        ['cbn/moving_variance', false],
      ]);
      cbn.gamma.assign(
        tf.tensor2d([
          [1, 1],
          [2, 3],
          [4, 5],
        ]),
      );
      cbn.beta.assign(
        tf.tensor2d([
          [0, 0],
          [10, 20],
          [30, 40],
        ]),
      );
      const x = tf.tensor4d([1, 2, 3, 6], [2, 1, 1, 2]); // channel 0: {1, 3}, channel 1: {2, 6}
      const [t12, t00] = [oneHot([1, 2], 3), oneHot([0, 0], 3)];
      const before = tf.memory().numTensors;
      const y = cbn.apply(x, t12, { training: true });
      // normalised: channel 0 -> {-1, 1}, channel 1 -> {-1, 1} (up to eps)
      const expected = [2 * -1 + 10, 3 * -1 + 20, 4 * 1 + 30, 5 * 1 + 40];
      Array.from(y.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 3));
      y.dispose();
      expect(cbn.pendingBatchStats).toBe(1);
      expect(tf.memory().numTensors).toBe(before + 2); // the recorded batch moments
      expect(Array.from(cbn.movingMean.dataSync())).toEqual([0, 0]);
      cbn.apply(x, t00, { training: true }).dispose();
      expect(cbn.updateMovingStats()).toBe(true);
      expect(tf.memory().numTensors).toBe(before);
      Array.from(cbn.movingMean.dataSync()).forEach((v, i) => expect(v).toBeCloseTo([1, 2][i]!, 5)); // 0.5·0 + 0.5·{2, 4}
      Array.from(cbn.movingVariance.dataSync()).forEach((v, i) => expect(v).toBeCloseTo([1, 2.5][i]!, 5)); // 0.5·1 + 0.5·{1, 4}
      expect(cbn.updateMovingStats()).toBe(false);
      // Inference uses the moving stats and records nothing.
      cbn.apply(x, t00).dispose();
      expect(cbn.pendingBatchStats).toBe(0);
      expect(tf.memory().numTensors).toBe(before);
      cbn.apply(x, t00, { training: true }).dispose();
      const stats = cbn.takeBatchStats()!;
      expect(stats.count).toBe(1);
      Array.from(stats.mean.dataSync()).forEach((v, i) => expect(v).toBeCloseTo([2, 4][i]!, 5));
      tf.dispose([stats.mean, stats.variance]);
      cbn.apply(x, t00, { training: true }).dispose();
      tf.dispose([x, t12, t00]);
      cbn.dispose(); // also frees recorded moments
      expect(tf.memory().numTensors).toBe(before - 3 - 4);
    });
  });
}
