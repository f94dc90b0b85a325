import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { maxGradientDifference } from '@ragan/test-utils/tensors';
import { createRagan } from '../ragan.js';
import {
  ageClassificationLoss,
  cosineIdentityLoss,
  discriminatorAdversarialLoss,
  generatorAdversarialLoss,
  l1Loss,
  pickGroupLogit,
  r1Penalty,
  r1PenaltyWithLogits,
} from './index.js';

const sp = (v: number) => Math.log1p(Math.exp(v));

describe('losses', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('use only the logit of the group in question', () => {
    const logits = tf.tensor2d([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const groups = tf.tensor2d([
      [0, 0, 1],
      [1, 0, 0],
    ]);
    expect(Array.from(pickGroupLogit(logits, groups).dataSync())).toEqual([3, 4]);
    const fake = tf.tensor2d([
      [-1, 0.5, 2],
      [0, -2, 1],
    ]);
    const fakeGroups = tf.tensor2d([
      [0, 1, 0],
      [0, 0, 1],
    ]);
    const d = discriminatorAdversarialLoss(logits, groups, fake, fakeGroups).dataSync()[0]!;
    expect(d).toBeCloseTo((sp(-3) + sp(-4)) / 2 + (sp(0.5) + sp(1)) / 2, 5);
    const g = generatorAdversarialLoss(fake, fakeGroups).dataSync()[0]!;
    expect(g).toBeCloseTo((sp(-0.5) + sp(-1)) / 2, 5);
  });

  it('age classification is the cross-entropy against the target group', () => {
    const logits = tf.tensor2d([[0, Math.log(3)]]);
    expect(ageClassificationLoss(logits, tf.tensor2d([[0, 1]])).dataSync()[0]).toBeCloseTo(-Math.log(0.75), 5);
  });

  it('l1 and cosine identity', () => {
    expect(l1Loss(tf.tensor([1, 2, 3]), tf.tensor([1, 0, 4])).dataSync()[0]).toBeCloseTo(1, 6);
    const a = tf.tensor2d([
      [1, 0],
      [0, 2],
    ]);
    expect(cosineIdentityLoss(a, a).dataSync()[0]).toBeCloseTo(0, 5);
    expect(
      cosineIdentityLoss(
        a,
        tf.tensor2d([
          [0, 1],
          [0, -3],
        ]),
      ).dataSync()[0],
    ).toBeCloseTo(1.5, 5);
    expect(() => l1Loss(tf.zeros([2]), tf.zeros([3]))).toThrow(/differ/);
  });

  it('R1 of a linear critic is gamma/2 times the squared weight norm, and differentiable in the weights', () => {
    const w = tf.variable(tf.tensor4d([1, -2, 0.5, 3], [1, 2, 2, 1]));
    const x = tf.ones([2, 2, 2, 1]) as tf.Tensor4D;
    const score = (img: tf.Tensor4D) => tf.sum(tf.mul(img, w), [1, 2, 3]) as tf.Tensor1D;
    const r1 = r1Penalty(score, x, 10).dataSync()[0]!;
    expect(r1).toBeCloseTo(5 * (1 + 4 + 0.25 + 9), 4);
    const { grads } = tf.variableGrads(() => r1Penalty(score, x, 10), [w]);
    // d/dw (5 * ||w||^2) = 10 w
    expect(Array.from(grads[w.name]!.dataSync())).toEqual([10, -20, 5, 30]);
  });

  it('r1PenaltyWithLogits: one D pass on the reals gives the same D loss and gradients as two', () => {
    const model = createRagan({ preset: 'tiny', resolution: 16 }, { seed: 3 });
    const D = model.discriminator;
    const vars = D.weights()
      .filter((w) => w.trainable)
      .map((w) => w.variable);
    const real = tf.randomUniform([2, 16, 16, 3], -1, 1, 'float32', 4) as tf.Tensor4D;
    const fake = tf.randomUniform([2, 16, 16, 3], -1, 1, 'float32', 5) as tf.Tensor4D;
    const y = tf.oneHot([2, 7], 10).toFloat() as tf.Tensor2D;
    const yt = tf.oneHot([5, 0], 10).toFloat() as tf.Tensor2D;
    const before = tf.memory().numTensors;
    const twice = tf.variableGrads(() => {
      const adv = discriminatorAdversarialLoss(D.apply(real, { training: true }), y, D.apply(fake, { training: true }), yt);
      return tf.add(
        adv,
        r1Penalty((x) => pickGroupLogit(D.apply(x, { training: true }), y), real, 10),
      ) as tf.Scalar;
    }, vars);
    let logits: tf.Tensor2D | undefined;
    const once = tf.variableGrads(() => {
      const r = r1PenaltyWithLogits((x) => D.apply(x, { training: true }), real, y, 10);
      logits = r.logits;
      return tf.add(discriminatorAdversarialLoss(r.logits, y, D.apply(fake, { training: true }), yt), r.penalty) as tf.Scalar;
    }, vars);
    logits!.dispose();
    expect(once.value.dataSync()[0]).toBeCloseTo(twice.value.dataSync()[0]!, 5);
    expect(maxGradientDifference(twice.grads, once.grads, vars)).toBeLessThan(1e-4);
    tf.dispose([twice.value, once.value, ...Object.values(twice.grads), ...Object.values(once.grads)]);
    expect(tf.memory().numTensors).toBe(before); // the kept logits were the only survivor, and are gone
    tf.dispose([real, fake, y, yt]);
    model.dispose();
  });
});
