import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { MODEL_TEST_BACKENDS, useStockBackend } from '../../test/helpers.js';
import { leakyRelu } from './activations.js';
import { minibatchGroupSize, minibatchStddev } from './minibatch-stddev.js';
import { demodulationCoefficients, modulatedConv2d } from './modulated-conv2d.js';
import { conditionalBatchNorm, conditionalBatchNormWithStats, pixelNorm } from './normalization.js';
import { oneHot } from './one-hot.js';
import { downsampleAvg2x, globalAvgPool, shiftImages, upsampleNearest2x } from './resample.js';

function expectClose(actual: tf.Tensor, expected: tf.Tensor, tol = 1e-5): void {
  expect(actual.shape).toEqual(expected.shape);
  const a = actual.dataSync();
  const b = expected.dataSync();
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  expect(worst).toBeLessThanOrEqual(tol);
}

const rand = (shape: number[], seed: number) => tf.randomUniform(shape, -1, 1, 'float32', seed);

for (const backend of MODEL_TEST_BACKENDS) {
  describe(`ops [${backend}]`, () => {
    beforeAll(async () => {
      await useStockBackend(backend);
    });

    it('leakyRelu matches tf.leakyRelu', () => {
      tf.tidy(() => {
        const x = rand([2, 3, 3, 4], 1);
        expectClose(leakyRelu(x, 0.2), tf.leakyRelu(x, 0.2), 1e-7);
      });
    });

    it('upsampleNearest2x matches resizeNearestNeighbor; downsampleAvg2x matches avgPool', () => {
      tf.tidy(() => {
        const x = rand([2, 3, 5, 4], 2) as tf.Tensor4D;
        const up = upsampleNearest2x(x);
        expect(up.shape).toEqual([2, 6, 10, 4]);
        expectClose(up, tf.image.resizeNearestNeighbor(x, [6, 10]), 0);
        const y = rand([2, 6, 4, 3], 3) as tf.Tensor4D;
        expectClose(downsampleAvg2x(y), tf.avgPool(y, 2, 2, 'valid'), 1e-6);
        expectClose(downsampleAvg2x(upsampleNearest2x(y)), y, 1e-6);
        expectClose(globalAvgPool(y), tf.mean(y, [1, 2]), 1e-6);
      });
    });

    it('shiftImages moves each image by its own whole-pixel offset, repeats the edges, and passes gradients', () => {
      tf.tidy(() => {
        // image 0: value = 10·row + col; image 1: its negative
        const base = tf.add(tf.mul(tf.range(0, 4).reshape([4, 1, 1]), 10), tf.range(0, 5).reshape([1, 5, 1]));
        const x = tf.stack([base, tf.neg(base)]).toFloat() as tf.Tensor4D; // [2, 4, 5, 1]
        const y = shiftImages(x, [1, 0], [0, -2]);
        const a = y.arraySync() as number[][][][];
        // image 0 moved down by 1: row 0 repeats the old row 0, row 1 is the old row 0, row 3 the old row 2
        expect(a[0]!.map((r) => r.map((p) => p[0]))).toEqual([
          [0, 1, 2, 3, 4],
          [0, 1, 2, 3, 4],
          [10, 11, 12, 13, 14],
          [20, 21, 22, 23, 24],
        ]);
        // image 1 moved left by 2: column j is the old column j + 2, the last two repeat the old last
        expect(a[1]![2]!.map((p) => p[0])).toEqual([-22, -23, -24, -24, -24]);
        expectClose(shiftImages(x, [0, 0], [0, 0]), x, 0);
        // the gradient of a sum: every input pixel counts as often as it is seen
        const g = tf
          .grad((t: tf.Tensor) => tf.sum(shiftImages(t as tf.Tensor4D, [1, 0], [0, -2])))(x)
          .arraySync() as number[][][][];
        expect(g[0]!.map((r) => r[0]![0])).toEqual([2, 1, 1, 0]);
        expect(g[1]![0]!.map((p) => p[0])).toEqual([0, 0, 1, 1, 3]);
        expect(() => shiftImages(x, [0], [0, 0])).toThrow(/2 images but 1 and 2 shifts/);
        expect(() => shiftImages(x, [4, 0], [0, 0])).toThrow(/below the side/);
      });
    });

    it('pixelNorm gives unit root-mean-square per pixel', () => {
      tf.tidy(() => {
        const y = pixelNorm(rand([2, 3, 3, 8], 4));
        expectClose(tf.mean(tf.square(y), -1), tf.ones([2, 3, 3]), 1e-5);
      });
    });

    it('modulated conv with a unit style and demodulate=false equals conv2d', () => {
      tf.tidy(() => {
        const x = rand([2, 5, 5, 3], 5) as tf.Tensor4D;
        const w = rand([3, 3, 3, 4], 6) as tf.Tensor4D;
        expectClose(modulatedConv2d(x, w, tf.ones([2, 3]), { demodulate: false }), tf.conv2d(x, w, 1, 'same'), 1e-5);
        expectClose(modulatedConv2d(x, w, tf.ones([2, 3]), { demodulate: false, padding: 'valid' }), tf.conv2d(x, w, 1, 'valid'), 1e-5);
      });
    });

    it('non-fused modulated conv equals per-sample conv with w·s·d, and those kernels have unit norm', () => {
      tf.tidy(() => {
        const [n, cin, cout] = [3, 4, 5];
        const x = rand([n, 6, 6, cin], 7) as tf.Tensor4D;
        const w = rand([3, 3, cin, cout], 8) as tf.Tensor4D;
        const s = tf.add(rand([n, cin], 9), 1.5) as tf.Tensor2D;
        const d = demodulationCoefficients(w, s);
        expect(d.shape).toEqual([n, cout]);
        const out = modulatedConv2d(x, w, s);
        for (let i = 0; i < n; i++) {
          const si = s.slice([i, 0], [1, cin]).reshape([1, 1, cin, 1]);
          const di = d.slice([i, 0], [1, cout]).reshape([1, 1, 1, cout]);
          const eff = tf.mul(tf.mul(w, si), di) as tf.Tensor4D;
          expectClose(tf.sqrt(tf.sum(tf.square(eff), [0, 1, 2])), tf.ones([cout]), 1e-5);
          const xi = x.slice([i, 0, 0, 0], [1, 6, 6, cin]);
          expectClose(out.slice([i, 0, 0, 0], [1, 6, 6, cout]), tf.conv2d(xi, eff, 1, 'same'), 1e-4);
        }
      });
    });

    it('minibatchStddev appends the group std channel', () => {
      tf.tidy(() => {
        const x = rand([4, 2, 2, 3], 10) as tf.Tensor4D;
        const y = minibatchStddev(x, 2);
        expect(y.shape).toEqual([4, 2, 2, 4]);
        expectClose(y.slice([0, 0, 0, 0], [4, 2, 2, 3]), x, 0);
        // Group size 2, N = 4: sample n is in column n mod 2, i.e. {0, 2} and {1, 3}.
        const xs = x.arraySync() as number[][][][];
        const ys = y.arraySync() as number[][][][];
        for (const [a, b] of [
          [0, 2],
          [1, 3],
        ] as const) {
          let sum = 0;
          for (let h = 0; h < 2; h++)
            for (let w = 0; w < 2; w++) for (let c = 0; c < 3; c++) sum += Math.sqrt(((xs[a]![h]![w]![c]! - xs[b]![h]![w]![c]!) / 2) ** 2 + 1e-8);
          expect(ys[a]![1]![0]![3]).toBeCloseTo(sum / 12, 5);
          expect(ys[b]![0]![1]![3]).toBeCloseTo(sum / 12, 5);
        }
        expect(minibatchGroupSize(6, 4)).toBe(3);
        expect(minibatchGroupSize(1, 4)).toBe(1);
        expect(minibatchStddev(x.slice([0, 0, 0, 0], [3, 2, 2, 3]), 4).shape).toEqual([3, 2, 2, 4]);
      });
    });

    it('conditionalBatchNorm picks the class parameters, blends linearly, and uses moving stats when not training', () => {
      tf.tidy(() => {
        const [n, c, k] = [4, 3, 5];
        const x = tf.add(tf.mul(rand([n, 3, 3, c], 11), 2), 0.5) as tf.Tensor4D;
        const gamma = tf.add(rand([k, c], 12), 2) as tf.Tensor2D;
        const beta = rand([k, c], 13) as tf.Tensor2D;
        const groups = [0, 3, 4, 3];
        const { mean, variance } = tf.moments(x, [0, 1, 2]);
        const normalised = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5)));
        const res = conditionalBatchNormWithStats(x, gamma, beta, oneHot(groups, k), { training: true });
        expectClose(res.mean, mean, 1e-6);
        expectClose(res.variance, variance, 1e-6);
        groups.forEach((g, i) => {
          const expected = tf.add(
            tf.mul(normalised.slice([i, 0, 0, 0], [1, 3, 3, c]), gamma.slice([g, 0], [1, c]).reshape([1, 1, 1, c])),
            beta.slice([g, 0], [1, c]).reshape([1, 1, 1, c]),
          );
          expectClose(res.output.slice([i, 0, 0, 0], [1, 3, 3, c]), expected, 1e-5);
        });
        // A half/half blend of groups 1 and 2 equals the average of the two one-hot outputs.
        const half = tf.tensor2d(Array.from({ length: n }, () => [0, 0.5, 0.5, 0, 0]));
        const blended = conditionalBatchNorm(x, gamma, beta, half, { training: true });
        const g1 = conditionalBatchNorm(x, gamma, beta, oneHot([1, 1, 1, 1], k), { training: true });
        const g2 = conditionalBatchNorm(x, gamma, beta, oneHot([2, 2, 2, 2], k), { training: true });
        expectClose(blended, tf.div(tf.add(g1, g2), 2), 1e-5);
        // Inference: moving statistics.
        const mm = tf.tensor1d([0.1, -0.2, 0.3]);
        const mv = tf.tensor1d([2, 0.5, 1]);
        const inf = conditionalBatchNorm(x, gamma, beta, oneHot([0, 0, 0, 0], k), { movingMean: mm, movingVar: mv });
        const expected = tf.add(
          tf.mul(tf.div(tf.sub(x, mm), tf.sqrt(tf.add(mv, 1e-5))), gamma.slice([0, 0], [1, c])),
          beta.slice([0, 0], [1, c]),
        ) as tf.Tensor4D;
        expectClose(inf, expected, 1e-5);
        expect(() => conditionalBatchNorm(x, gamma, beta, oneHot([0, 0, 0, 0], k))).toThrow(/movingMean/);
        expect(() => conditionalBatchNorm(x, gamma, beta, oneHot([0, 0, 0], k), { training: true })).toThrow(/groupWeights/);
      });
    });

    it('oneHot gives float rows and refuses bad indices', () => {
      tf.tidy(() => {
        const t = oneHot([2, 0], 3);
        expect(t.dtype).toBe('float32');
        expect(t.arraySync()).toEqual([
          [0, 0, 1],
          [1, 0, 0],
        ]);
        expect(oneHot(tf.tensor1d([1], 'int32'), 2).arraySync()).toEqual([[0, 1]]);
        expect(() => oneHot([3], 3)).toThrow(/index 3/);
      });
    });

    it('ops leave no tensors behind', () => {
      const x = rand([4, 4, 4, 3], 14) as tf.Tensor4D;
      const w = rand([3, 3, 3, 2], 15) as tf.Tensor4D;
      const s = tf.ones([4, 3]) as tf.Tensor2D;
      const [gt, bt, gw] = [tf.ones([2, 3]) as tf.Tensor2D, tf.zeros([2, 3]) as tf.Tensor2D, oneHot([0, 1, 1, 0], 2)];
      const before = tf.memory().numTensors;
      const outs: tf.Tensor[] = [
        leakyRelu(x),
        upsampleNearest2x(x),
        downsampleAvg2x(x),
        pixelNorm(x),
        modulatedConv2d(x, w, s),
        minibatchStddev(x),
        demodulationCoefficients(w, s),
        oneHot([0, 1], 2),
      ];
      const r = conditionalBatchNormWithStats(x, gt, bt, gw, { training: true });
      outs.push(r.output, r.mean, r.variance);
      expect(tf.memory().numTensors - before).toBe(outs.length);
      tf.dispose(outs);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, w, s, gt, bt, gw]);
    });
  });
}

describe('second-order gradients (R1) through the discriminator ops [cpu]', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('differentiates a gradient through conv2d (stride 2), leakyRelu, downsampleAvg2x, minibatchStddev and matMul', () => {
    tf.tidy(() => {
      const w1 = tf.variable(rand([3, 3, 3, 4], 20));
      const w2 = tf.variable(rand([1, 1, 5, 2], 21));
      const dense = tf.variable(rand([2 * 2 * 2, 1], 22));
      const x = rand([2, 8, 8, 3], 23) as tf.Tensor4D;
      const d = (xx: tf.Tensor) => {
        let h = leakyRelu(tf.conv2d(xx as tf.Tensor4D, w1 as tf.Tensor4D, 2, 1), 0.2); // [2, 4, 4, 4]
        h = downsampleAvg2x(h); // [2, 2, 2, 4]
        h = minibatchStddev(h, 2); // [2, 2, 2, 5]
        h = leakyRelu(tf.conv2d(h, w2 as tf.Tensor4D, 1, 'same'), 0.2);
        return tf.matMul(h.reshape([2, 8]), dense).sum();
      };
      const { value, grads } = tf.variableGrads(() => {
        const g = tf.grad(d)(x);
        return tf.sum(tf.square(g)) as tf.Scalar;
      });
      expect(Number.isFinite(value.dataSync()[0])).toBe(true);
      for (const v of [w1, w2, dense]) {
        const g = grads[v.name];
        expect(g).toBeDefined();
        expect(Array.from(g!.dataSync()).every(Number.isFinite)).toBe(true);
        expect(tf.sum(tf.abs(g!)).dataSync()[0]).toBeGreaterThan(0);
      }
      tf.dispose([w1, w2, dense]);
    });
  });
});
