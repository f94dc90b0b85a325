import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { FFHQ_AGING_GROUPS } from '../config/age-groups.js';
import { PRESETS, resolveModelConfig, type ModelConfig } from '../config/presets.js';
import type { Module } from '../layers/module.js';
import { maxGradientDifference } from '@ragan/test-utils/tensors';
import { MODEL_TEST_BACKENDS, TRAINING_BACKEND, useStockBackend, type ModelTestBackend } from '../../test/helpers.js';
import { createGenerator, disposeEncoded, type Generator } from './generator.js';
import { ageTarget, groupTarget } from './targets.js';

/** A generator small enough for gradient tests on the cpu backend (16×16, 4–8 channels). */
const MICRO: ModelConfig = resolveModelConfig({
  preset: 'tiny',
  resolution: 16,
  c0: 4,
  cMax: 8,
  nIdBlocks: 1,
  nAmDown: 2,
  nDecBlocks: 1,
  styleDim: 8,
  dC0: 4,
  clsC0: 4,
  stemKernel: 3,
});

const summary = (m: Module) => m.weights().map((w) => `${w.name} ${w.variable.shape.join('x')} ${w.trainable} ${w.lrMultiplier}`);

/** Gives every CBN class its own scale and shift (at init they are all 1 and 0, so targets would not matter). */
function randomiseCbn(g: Generator, seed: number): void {
  g.batchNormLayers().forEach((l, i) => {
    tf.tidy(() => {
      l.gamma.assign(tf.randomUniform(l.gamma.shape, 0.5, 1.5, 'float32', seed + 2 * i));
      l.beta.assign(tf.randomUniform(l.beta.shape, -0.5, 0.5, 'float32', seed + 2 * i + 1));
    });
  });
}

function inputs(config: ModelConfig, n: number, seed: number, maskValue?: number) {
  const r = config.resolution;
  const x = tf.randomUniform([n, r, r, 3], -1, 1, 'float32', seed) as tf.Tensor4D;
  const mask = (maskValue === undefined ? tf.randomUniform([n, r, r, 1], 0, 1, 'float32', seed + 1) : tf.fill([n, r, r, 1], maskValue)) as tf.Tensor4D;
  return { x, mask };
}

const configs: Record<ModelTestBackend, ModelConfig> = { cpu: MICRO, [TRAINING_BACKEND]: PRESETS.tiny };

for (const backend of MODEL_TEST_BACKENDS) {
  const config = configs[backend];
  describe(`generator [${backend}] ${config.resolution}px`, () => {
    let g: Generator;
    beforeAll(async () => {
      await useStockBackend(backend);
      g = createGenerator(config, { seed: 5 });
      randomiseCbn(g, 100);
    });

    it('maps [N, H, W, 3] to [N, H, W, 3] in [-1, 1] without leaking tensors', () => {
      const { x, mask } = inputs(config, 2, 1);
      const y = groupTarget([2, 7], 10);
      const before = tf.memory().numTensors;
      const out = g.apply(x, mask, y);
      expect(out.shape).toEqual([2, config.resolution, config.resolution, 3]);
      const v = out.dataSync();
      expect(Array.from(v).every((a) => a >= -1 && a <= 1)).toBe(true);
      out.dispose();
      const fId = g.encode(x, mask);
      const s = 2 ** config.nDown;
      expect(fId.shape).toEqual([2, config.resolution / s, config.resolution / s, Math.min(config.c0 * s, config.cMax)]);
      const style = g.ageStyle(fId, y);
      expect(style.shape).toEqual([2, config.styleDim]);
      tf.dispose([fId, style]);
      expect(tf.memory().numTensors).toBe(before);
      // Training mode records CBN batch moments until they are used or dropped.
      g.apply(x, mask, y, { training: true }).dispose();
      expect(g.batchNormLayers().every((l) => l.pendingBatchStats === 1)).toBe(true);
      g.clearBatchStats();
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, mask, y]);
    });

    it('with an all-background mask the output does not depend on the target', () => {
      const { x, mask } = inputs(config, 2, 2, 0);
      const [ya, yb] = [groupTarget([0, 1], 10), groupTarget([9, 8], 10)];
      const [a, b] = [g.apply(x, mask, ya), g.apply(x, mask, yb)];
      expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
      tf.dispose([x, mask, ya, yb, a, b]);
    });

    it('with an all-face mask different targets give different outputs; an age blend lies between', () => {
      const { x, mask } = inputs(config, 1, 3, 1);
      const [ya, yb, yab] = [groupTarget([1], 10), groupTarget([8], 10), ageTarget([15], FFHQ_AGING_GROUPS)];
      const [a, b] = [g.apply(x, mask, ya), g.apply(x, mask, yb)];
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
      expect(diff).toBeGreaterThan(1e-4);
      const ab = g.apply(x, mask, yab);
      expect(ab.shape).toEqual(a.shape);
      tf.dispose([x, mask, ya, yb, yab, a, b, ab]);
    });

    it('weights are deterministic for a seed and getConfig round-trips', () => {
      const again = createGenerator(g.getConfig(), { seed: 5 });
      const fromConfig = createGenerator(g.config);
      const other = createGenerator(config, { seed: 6 });
      expect(summary(again)).toEqual(summary(g));
      expect(summary(fromConfig)).toEqual(summary(g));
      expect(again.countParams()).toBe(g.countParams());
      const w0 = (m: Module, i: number) => Array.from(m.weights()[i]!.variable.dataSync());
      // Index 0 is the stem kernel; CBN tables of `g` were randomised, so compare a conv kernel.
      expect(w0(again, 0)).toEqual(w0(g, 0));
      expect(w0(other, 0)).not.toEqual(w0(g, 0));
      const names = g.weights().map((w) => w.name);
      expect(names).toContain('generator/enc/stem/kernel');
      expect(names).toContain('generator/am/down0/cbn/gamma');
      expect(names).toContain('generator/dec/up0/conv/affine/bias');
      expect(names).toContain('generator/to_rgb/kernel');
      expect(new Set(names).size).toBe(names.length);
      const style = g
        .weights()
        .filter((w) => w.lrMultiplier !== 1)
        .map((w) => w.name);
      expect(style.length).toBeGreaterThan(0);
      expect(style.every((n) => n.includes('/affine/') || n.startsWith('generator/am/style/'))).toBe(true);
      for (const m of [again, fromConfig, other]) m.dispose();
    });
  });
}

describe('generator gradients [cpu]', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('every trainable weight gets a non-null, finite gradient; moving stats update afterwards', () => {
    const g = createGenerator(MICRO, { seed: 9 });
    const { x, mask } = inputs(MICRO, 2, 4);
    const y = groupTarget([3, 6], 10);
    const before = tf.memory().numTensors;
    const vars = g.trainableVariables();
    const { value, grads } = tf.variableGrads(() => {
      const out = g.apply(x, mask, y, { training: true });
      const idLoss = tf.mean(tf.abs(g.encode(out, mask)));
      return tf.add(tf.mean(tf.square(tf.sub(out, x))), idLoss) as tf.Scalar;
    }, vars);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    const named = new Map(g.weights().map((w) => [w.variable.name, w.name]));
    const missing = vars.filter((v) => !grads[v.name]).map((v) => named.get(v.name));
    expect(missing).toEqual([]);
    const bad = vars.filter((v) => !Array.from(grads[v.name]!.dataSync()).every(Number.isFinite)).map((v) => named.get(v.name));
    expect(bad).toEqual([]);
    expect(vars.length).toBe(g.weights().filter((w) => w.trainable).length);
    tf.dispose([value, ...Object.values(grads)]);
    const mean0 = Array.from(g.batchNormLayers()[0]!.movingMean.dataSync());
    g.updateMovingStats();
    expect(Array.from(g.batchNormLayers()[0]!.movingMean.dataSync())).not.toEqual(mean0);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, mask, y]);
    g.dispose();
  });
});

describe('encoderMask (where the encoder applies the face mask) [cpu]', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  /** The largest |gradient| of any encoder bias for a plain loss, with the left half of every image background. */
  function encoderBiasGradMax(encoderMask: 'stem' | 'every-block') {
    const config = resolveModelConfig({ ...MICRO, encoderMask });
    const g = createGenerator(config, { seed: 3 });
    const { x } = inputs(config, 2, 8);
    const r = config.resolution;
    const mask = tf.concat([tf.zeros([2, r, r / 2, 1]), tf.ones([2, r, r / 2, 1])], 2) as tf.Tensor4D;
    const y = groupTarget([1, 7], 10);
    const before = tf.memory().numTensors;
    const encBiases = g.weights().filter((w) => /^generator\/enc\/.*bias$/.test(w.name));
    const { value, grads } = tf.variableGrads(
      () => {
        const out = g.apply(x, mask, y);
        return tf.mean(tf.abs(tf.sub(out, x))) as tf.Scalar;
      },
      encBiases.map((w) => w.variable),
    );
    const max = Math.max(...encBiases.map((w) => tf.tidy(() => tf.max(tf.abs(grads[w.variable.name]!)).dataSync()[0]!)));
    const fId = g.encode(x, mask);
    const bgFeatures = tf.tidy(() => tf.max(tf.abs(fId.slice([0, 0, 0, 0], [2, fId.shape[1], fId.shape[2] / 2, fId.shape[3]]))).dataSync()[0]!);
    tf.dispose([value, ...Object.values(grads), fId]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, mask, y]);
    g.dispose();
    return { max, bgFeatures };
  }

  it('"stem" (the spec): zero biases in the masked region meet pixel norm at 0 and get gradients above 1e5', () => {
    const { max, bgFeatures } = encoderBiasGradMax('stem');
    expect(max).toBeGreaterThan(1e5);
    expect(bgFeatures).toBeGreaterThan(0);
  });

  it('"every-block": the features of the masked region are zero and the encoder biases\' gradients stay ordinary', () => {
    const { max, bgFeatures } = encoderBiasGradMax('every-block');
    expect(bgFeatures).toBe(0);
    expect(max).toBeLessThan(1e3);
  });

  it('is validated and kept in the config (absent = stem)', () => {
    expect(resolveModelConfig({ preset: 'tiny' }).encoderMask).toBeUndefined();
    expect(resolveModelConfig({ preset: 'tiny', encoderMask: 'every-block' }).encoderMask).toBe('every-block');
    expect(() => resolveModelConfig({ preset: 'tiny', encoderMask: 'all' as never })).toThrow(/encoderMask: must be "stem" or "every-block"/);
  });
});

describe('encodeImage + applyEncoded (the G step shares the encoder between its terms) [cpu]', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('gives apply()’s output and encode()’s features, leaves the mask alone and leaks nothing', () => {
    const g = createGenerator(MICRO, { seed: 5 });
    randomiseCbn(g, 50);
    for (const maskSize of [MICRO.resolution, MICRO.resolution / 2]) {
      const { x } = inputs(MICRO, 2, 6);
      const mask = tf.randomUniform([2, maskSize, maskSize, 1], 0, 1, 'float32', 7) as tf.Tensor4D; // half size: resized inside
      const before = tf.memory().numTensors;
      const e = g.encodeImage(x, mask);
      for (const group of [
        [1, 8],
        [4, 4],
      ]) {
        const y = groupTarget(group, 10);
        const a = g.apply(x, mask, y);
        const b = g.applyEncoded(e, y);
        expect(tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0])).toBe(0);
        tf.dispose([a, b, y]);
      }
      const f = g.encode(x, mask);
      expect(tf.tidy(() => tf.max(tf.abs(tf.sub(f, e.fId))).dataSync()[0])).toBe(0);
      f.dispose();
      disposeEncoded(e);
      expect(tf.memory().numTensors).toBe(before);
      expect(mask.isDisposed).toBe(false);
      tf.dispose([x, mask]);
    }
    g.dispose();
  });

  it('the shared-encoder G step loss has the same value and gradients as separate apply/encode calls', () => {
    const g = createGenerator(MICRO, { seed: 11 });
    randomiseCbn(g, 70);
    const { x, mask } = inputs(MICRO, 2, 8);
    const y = groupTarget([2, 7], 10);
    const yt = groupTarget([5, 1], 10);
    const vars = g.trainableVariables();
    const l1 = (a: tf.Tensor, b: tf.Tensor) => tf.mean(tf.abs(tf.sub(a, b)));
    // aging (stand-in for the D/C terms), reconstruction ×10, cycle ×10, identity feature: GanTrainer's G terms
    const separate = tf.variableGrads(() => {
      const xt = g.apply(x, mask, yt, { training: true });
      return tf.addN([
        tf.mean(tf.square(xt)),
        tf.mul(l1(g.apply(x, mask, y, { training: true }), x), 10),
        tf.mul(l1(g.apply(xt, mask, y, { training: true }), x), 10),
        l1(g.encode(xt, mask), g.encode(x, mask)),
      ]) as tf.Scalar;
    }, vars);
    g.clearBatchStats();
    const shared = tf.variableGrads(() => {
      const onX = g.encodeImage(x, mask);
      const xt = g.applyEncoded(onX, yt, { training: true });
      const onXt = g.encodeImage(xt, mask);
      return tf.addN([
        tf.mean(tf.square(xt)),
        tf.mul(l1(g.applyEncoded(onX, y, { training: true }), x), 10),
        tf.mul(l1(g.applyEncoded(onXt, y, { training: true }), x), 10),
        l1(onXt.fId, onX.fId),
      ]) as tf.Scalar;
    }, vars);
    g.clearBatchStats();
    expect(shared.value.dataSync()[0]).toBeCloseTo(separate.value.dataSync()[0]!, 6);
    expect(maxGradientDifference(separate.grads, shared.grads, vars)).toBeLessThan(1e-4); // the same sums in another order
    tf.dispose([separate.value, shared.value, ...Object.values(separate.grads), ...Object.values(shared.grads), x, mask, y, yt]);
    g.dispose();
  });
});
