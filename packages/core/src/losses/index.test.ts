import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ageClassificationLoss, cosineIdentityLoss, discriminatorAdversarialLoss, generatorAdversarialLoss, l1Loss, pickGroupLogit, r1Penalty } from './index.js';

const sp = (v: number) => Math.log1p(Math.exp(v));

describe('losses', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('use only the logit of the group in question', () => {
    const logits = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
    const groups = tf.tensor2d([[0, 0, 1], [1, 0, 0]]);
    expect(Array.from(pickGroupLogit(logits, groups).dataSync())).toEqual([3, 4]);
    const fake = tf.tensor2d([[-1, 0.5, 2], [0, -2, 1]]);
    const fakeGroups = tf.tensor2d([[0, 1, 0], [0, 0, 1]]);
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
    const a = tf.tensor2d([[1, 0], [0, 2]]);
    expect(cosineIdentityLoss(a, a).dataSync()[0]).toBeCloseTo(0, 5);
    expect(cosineIdentityLoss(a, tf.tensor2d([[0, 1], [0, -3]])).dataSync()[0]).toBeCloseTo(1.5, 5);
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
});
