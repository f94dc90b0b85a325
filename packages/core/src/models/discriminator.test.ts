import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveModelConfig, type ModelConfig } from '../config/presets.js';
import type { Module } from '../layers/module.js';
import { createAgeClassifier } from './age-classifier.js';
import { createDiscriminator } from './discriminator.js';

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
  ageGroups: 'lats-6',
});
const summary = (m: Module) => m.weights().map((w) => `${w.name} ${w.variable.shape.join('x')} ${w.trainable}`);

function checkGrads(m: Module, grads: tf.NamedTensorMap, requireAll: boolean): void {
  const named = new Map(m.weights().map((w) => [w.variable.name, w.name]));
  const vars = m.trainableVariables();
  if (requireAll) expect(vars.filter((v) => !grads[v.name]).map((v) => named.get(v.name))).toEqual([]);
  const bad = vars.filter((v) => grads[v.name] && !Array.from(grads[v.name]!.dataSync()).every(Number.isFinite)).map((v) => named.get(v.name));
  expect(bad).toEqual([]);
}

describe('discriminator and age classifier [cpu]', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('D: [N, K] logits; gradients reach every weight; R1 (a gradient of a gradient) works without extra gradient registrations', () => {
    const d = createDiscriminator(MICRO, { seed: 1 });
    const x = tf.randomUniform([4, 16, 16, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const logits = d.apply(x);
    expect(logits.shape).toEqual([4, 6]);
    logits.dispose();
    expect(tf.memory().numTensors).toBe(before);

    const adv = tf.variableGrads(() => tf.mean(tf.softplus(tf.neg(d.apply(x)))) as tf.Scalar, d.trainableVariables());
    checkGrads(d, adv.grads, true);
    tf.dispose([adv.value, ...Object.values(adv.grads)]);

    const r1 = tf.variableGrads(() => {
      const gx = tf.grad((xx: tf.Tensor) => tf.sum(d.apply(xx as tf.Tensor4D)))(x);
      return tf.mul(5, tf.mean(tf.sum(tf.square(gx), [1, 2, 3]))) as tf.Scalar;
    }, d.trainableVariables());
    expect(Number.isFinite(r1.value.dataSync()[0])).toBe(true);
    // Only the final bias does not influence grad_x D.
    const named = new Map(d.weights().map((w) => [w.variable.name, w.name]));
    expect(
      d
        .trainableVariables()
        .filter((v) => !r1.grads[v.name])
        .map((v) => named.get(v.name)),
    ).toEqual(['discriminator/out/bias']);
    checkGrads(d, r1.grads, false);
    tf.dispose([r1.value, ...Object.values(r1.grads)]);
    expect(tf.memory().numTensors).toBe(before);

    expect(summary(createDiscriminator(d.config, { seed: 1 }))).toEqual(summary(d));
    x.dispose();
    d.dispose();
  });

  it('classifier: [N, K] logits, gradients reach every weight, config round trip', () => {
    const c = createAgeClassifier(MICRO, { seed: 2 });
    const x = tf.randomUniform([2, 16, 16, 3], -1, 1, 'float32', 2) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const logits = c.apply(x);
    expect(logits.shape).toEqual([2, 6]);
    logits.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(tf.oneHot([1, 4], 6), c.apply(x)) as tf.Scalar, c.trainableVariables());
    checkGrads(c, grads, true);
    tf.dispose([value, ...Object.values(grads)]);
    const again = createAgeClassifier(c.getConfig(), { seed: 2 });
    expect(summary(again)).toEqual(summary(c));
    expect(Array.from(again.weights()[0]!.variable.dataSync())).toEqual(Array.from(c.weights()[0]!.variable.dataSync()));
    tf.dispose([x]);
    c.dispose();
    again.dispose();
  });

  it('classifier clsResolution: a 32² model reads its faces through a 16² classifier (2×2 means), weights as the 16² one', () => {
    const small = createAgeClassifier({ ...MICRO, clsArch: 'robust', clsCMax: 16 }, { seed: 3 });
    const wide = createAgeClassifier({ ...MICRO, resolution: 32, cMax: 32, clsArch: 'robust', clsResolution: 16, clsCMax: 16 }, { seed: 3 });
    // the same weights, names and shapes: a classifier trained on 16² faces loads into the 32² model
    expect(summary(wide)).toEqual(summary(small));
    expect(wide.weights().map((w) => Array.from(w.variable.dataSync()))).toEqual(small.weights().map((w) => Array.from(w.variable.dataSync())));
    expect(wide.inputSize).toBe(16);
    expect(summary(small).some((l) => l.includes('x16 true'))).toBe(true); // the channel cap is clsCMax, not MICRO's cMax 8
    const x = tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 5) as tf.Tensor4D;
    const pooled = tf.avgPool(x, 2, 2, 'valid');
    const before = tf.memory().numTensors;
    const a = wide.apply(x);
    const b = small.apply(pooled);
    expect(a.shape).toEqual([2, 6]);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
    expect(diff.dataSync()[0]).toBeLessThan(1e-5);
    tf.dispose([a, b, diff]);
    expect(tf.memory().numTensors).toBe(before);
    // 16² faces are read as they are; gradients reach the 32² input through the pooling
    const c = wide.apply(pooled);
    const d = small.apply(pooled);
    const same = tf.tidy(() => tf.max(tf.abs(tf.sub(c, d))));
    expect(same.dataSync()[0]).toBeLessThan(1e-6);
    const g = tf.grad((t: tf.Tensor) => tf.sum(wide.apply(t as tf.Tensor4D)))(x);
    expect(g.shape).toEqual([2, 32, 32, 3]);
    // each 2×2 block shares one gradient (a mean's), and it is not zero
    const gv = g.arraySync() as number[][][][];
    expect(gv[0]![0]![0]![0]).toBeCloseTo(gv[0]![1]![1]![0]!, 6);
    expect(Math.abs(gv[0]![0]![0]![0]!)).toBeGreaterThan(0);
    tf.dispose([c, d, same, g, x, pooled]);
    small.dispose();
    wide.dispose();
    expect(() => resolveModelConfig({ ...MICRO, clsResolution: 12 })).toThrow(/clsResolution.*power of two from 8 up to resolution/);
    expect(() => resolveModelConfig({ ...MICRO, clsResolution: 32 })).toThrow(/clsResolution/);
    // the model's own size and width are not written out: older configs and hashes stay as they were
    expect(resolveModelConfig({ ...MICRO, clsResolution: 16, clsCMax: 8 })).toEqual(MICRO);
  });

  it('classifier clsArch robust: average-pooled levels, no strided conv, gradients reach every weight; plain is unchanged', () => {
    const plain = createAgeClassifier(MICRO, { seed: 2 });
    const robust = createAgeClassifier({ ...MICRO, clsArch: 'robust' }, { seed: 2 });
    // plain keeps its weight names (old classifier folders still load)
    expect(summary(plain)).toEqual([
      'age_classifier/stem/kernel 3x3x3x4 true',
      'age_classifier/stem/bias 4 true',
      'age_classifier/down0/kernel 3x3x4x8 true',
      'age_classifier/down0/bias 8 true',
      'age_classifier/down1/kernel 3x3x8x8 true',
      'age_classifier/down1/bias 8 true',
      'age_classifier/out/kernel 8x6 true',
      'age_classifier/out/bias 6 true',
    ]);
    expect(robust.convs.every((c) => c.getConfig().strides === 1)).toBe(true);
    expect(robust.pre.length).toBe(robust.convs.length);
    const x = tf.randomUniform([2, 16, 16, 3], -1, 1, 'float32', 2) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const logits = robust.apply(x);
    expect(logits.shape).toEqual([2, 6]);
    logits.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const { value, grads } = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(tf.oneHot([1, 4], 6), robust.apply(x)) as tf.Scalar,
      robust.trainableVariables(),
    );
    checkGrads(robust, grads, true);
    tf.dispose([value, ...Object.values(grads), x]);
    expect(() => createAgeClassifier({ ...MICRO, clsArch: 'deep' as never })).toThrow(/clsArch.*"plain" or "robust"/);
    plain.dispose();
    robust.dispose();
  });
});
