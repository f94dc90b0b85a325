import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeakedTensors, expectTensorsClose, seededValues as values } from '@ragan/test-utils/tensors';
import { initBackend } from './init-backend.js';
import { registerSecondOrderGradients } from './gradients.js';

const BACKENDS = ['cpu', 'wasm'] as const;

const tensor = (shape: number[], seed: number, scale = 1): tf.Tensor =>
  tf.tensor(
    values(
      shape.reduce((a, b) => a * b, 1),
      seed,
      scale,
    ),
    shape,
  );

type Data = { shape: number[]; data: Float32Array };
const toData = (t: tf.Tensor): Data => ({ shape: t.shape, data: t.dataSync() as Float32Array });

function expectClose(actual: Data, expected: Data, tol: number): void {
  tf.tidy(() => expectTensorsClose(tf.tensor(actual.data, actual.shape), tf.tensor(expected.data, expected.shape), tol));
}

/**
 * R1 = Σ‖∇ₓ Σ D(x)‖² and its gradient w.r.t. every weight of D: the second-order computation of the GAN's
 * R1 penalty. Returns plain data (nothing left on the engine).
 */
function r1AndGrads(D: (x: tf.Tensor, w: tf.Tensor[]) => tf.Tensor, x: tf.Tensor, weights: tf.Tensor[]): Data[] {
  return tf.tidy(() => {
    const r1 = (...ws: tf.Tensor[]) => {
      const gx = tf.grad((xx: tf.Tensor) => tf.sum(D(xx, ws)))(x);
      return tf.sum(tf.square(gx));
    };
    const { value, grads } = tf.valueAndGrads(r1)(weights);
    return [toData(value), ...grads.map(toData)];
  });
}

/** A small discriminator through every op the RAGAN discriminator uses. x: [2, 8, 8, 3]. */
function discriminator(x: tf.Tensor, [c1, c2, c3, d1, d2]: tf.Tensor[]): tf.Tensor {
  let h = tf.conv2d(x as tf.Tensor4D, c1 as tf.Tensor4D, 1, 'same'); // [2,8,8,8]
  h = tf.leakyRelu(h, 0.2);
  h = tf.image.resizeNearestNeighbor(h, [16, 16]); // upsample
  h = tf.conv2d(h, c2 as tf.Tensor4D, 2, 'same'); // [2,8,8,8]
  h = tf.leakyRelu(h, 0.2);
  h = tf.avgPool(h, 2, 2, 'valid'); // [2,4,4,8]
  // Minibatch standard deviation: mean over features of the std over the batch, as an extra channel.
  const { variance } = tf.moments(h, 0);
  const std = tf.mean(tf.sqrt(tf.add(variance, 1e-8)));
  const withStd = tf.concat([h, tf.mul(tf.onesLike(tf.slice(h, [0, 0, 0, 0], [-1, -1, -1, 1])), std)], 3); // [2,4,4,9]
  const c = tf.leakyRelu(tf.conv2d(withStd as tf.Tensor4D, c3 as tf.Tensor4D, 1, 'valid'), 0.2); // [2,2,2,16]
  const dense = tf.leakyRelu(tf.matMul(tf.reshape(c, [2, 64]), d1 as tf.Tensor2D), 0.2); // [2,16]
  return tf.softplus(tf.matMul(dense, d2 as tf.Tensor2D, false, true)); // [2,1]
}

const weightShapes = [
  [3, 3, 3, 8],
  [3, 3, 8, 8],
  [3, 3, 9, 16],
  [64, 16],
  [1, 16],
];

beforeAll(async () => {
  // initBackend registers the training kernels (wasm) and the second-order gradients.
  await initBackend({ backend: 'cpu', quiet: true });
  await initBackend({ backend: 'wasm', quiet: true });
});

describe('R1 penalty (second-order gradients) on cpu and wasm', () => {
  it('works through conv2d, leakyRelu, resizeNearestNeighbor, avgPool, minibatch stddev, dense, softplus and agrees across backends', async () => {
    const results: Record<string, Data[]> = {};
    for (const backend of BACKENDS) {
      await tf.setBackend(backend);
      await expectNoLeakedTensors(() => {
        const x = tensor([2, 8, 8, 3], 1);
        const ws = weightShapes.map((s, i) => tensor(s, 10 + i, 0.5));
        results[backend] = r1AndGrads(discriminator, x, ws);
        tf.dispose([x, ...ws]);
      });
    }
    const [cpuR1, ...cpuGrads] = results.cpu!;
    const [wasmR1, ...wasmGrads] = results.wasm!;
    expect(Number.isFinite(cpuR1!.data[0]) && cpuR1!.data[0]! > 0).toBe(true);
    expectClose(wasmR1!, cpuR1!, 1e-4);
    cpuGrads.forEach((g, i) => {
      expect(
        g.data.some((v) => v !== 0),
        `weight ${i} gets a gradient`,
      ).toBe(true);
      expectClose(wasmGrads[i]!, g, 1e-4);
    });
  });

  // Each op alone after a conv: ops whose gradients contain comparisons, pooling or resizing gradients.
  const ops: Record<string, (h: tf.Tensor4D) => tf.Tensor> = {
    leakyRelu: (h) => tf.leakyRelu(h, 0.2),
    prelu: (h) => tf.prelu(h, tf.fill([4], 0.2) as unknown as tf.Tensor4D),
    relu6: (h) => tf.relu6(tf.mul(h, 4)),
    elu: (h) => tf.elu(h),
    selu: (h) => tf.selu(h),
    'fused conv2d + bias + leakyrelu': (h) =>
      tf.fused.conv2d({
        x: h,
        filter: tf.fill([1, 1, 4, 4], 0.3) as tf.Tensor4D,
        strides: 1,
        pad: 'same',
        bias: tf.fill([4], 0.1),
        activation: 'leakyrelu',
        leakyreluAlpha: 0.2,
      }),
    'avgPool 3x3 stride 2 same (odd size)': (h) => tf.avgPool(h, 3, 2, 'same'),
    'avgPool 2x2 valid': (h) => tf.avgPool(h, 2, 2, 'valid'),
    'resizeNearestNeighbor x2': (h) => tf.image.resizeNearestNeighbor(h, [14, 18]),
    'resizeNearestNeighbor halfPixelCenters': (h) => tf.image.resizeNearestNeighbor(h, [10, 13], false, true),
    'resizeBilinear x2': (h) => tf.image.resizeBilinear(h, [14, 18]),
    'resizeBilinear halfPixelCenters': (h) => tf.image.resizeBilinear(h, [10, 13], false, true),
    clipByValue: (h) => tf.clipByValue(h, -0.3, 0.3),
    'maximum/minimum': (h) => tf.minimum(tf.maximum(h, -0.2), 0.4),
    where: (h) => tf.where(tf.greater(h, 0), h, tf.mul(h, 0.1)),
    'max over space': (h) => tf.max(h, [1, 2]),
    abs: (h) => tf.abs(h),
    'instance norm': (h) => {
      const { mean, variance } = tf.moments(h, [1, 2], true);
      return tf.mul(tf.sub(h, mean), tf.rsqrt(tf.add(variance, 1e-5)));
    },
    'sigmoid/tanh': (h) => tf.mul(tf.sigmoid(h), tf.tanh(h)),
    'pad/mirrorPad/slice': (h) =>
      tf.slice(
        tf.mirrorPad(
          tf.pad(h, [
            [0, 0],
            [1, 1],
            [1, 1],
            [0, 0],
          ]),
          [
            [0, 0],
            [1, 1],
            [1, 1],
            [0, 0],
          ],
          'reflect',
        ),
        [0, 1, 1, 0],
        [-1, 7, 9, 4],
      ),
    // Quartic in x after R1: scaled so values stay O(1), where the max(1,|b|) error metric is meaningful.
    'matMul transposed': (h) => {
      const g = tf.mul(tf.reshape(h, [28, 18]), 0.3);
      return tf.matMul(g, g, true, false);
    },
    'fused matMul + bias': (h) =>
      tf.fused.matMul({
        a: tf.reshape(h, [28, 18]),
        b: tf.reshape(tf.slice(h, [0, 0, 0, 0], [1, 3, 9, 4]), [6, 18]),
        transposeB: true,
        bias: tf.fill([6], 0.2),
        activation: 'relu',
      }),
    gather: (h) => tf.gather(h, [1, 0, 1], 0),
  };

  it.each(Object.keys(ops))('second order through %s agrees on cpu and wasm', async (name) => {
    const op = ops[name]!;
    const D = (x: tf.Tensor, [w]: tf.Tensor[]) => op(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'));
    const results: Record<string, Data[]> = {};
    for (const backend of BACKENDS) {
      await tf.setBackend(backend);
      await expectNoLeakedTensors(() => {
        const x = tensor([2, 7, 9, 3], 2);
        const w = tensor([3, 3, 3, 4], 3, 0.5);
        results[backend] = r1AndGrads(D, x, [w]);
        tf.dispose([x, w]);
      });
    }
    expect(results.cpu![1]!.data.every(Number.isFinite)).toBe(true);
    expectClose(results.wasm![0]!, results.cpu![0]!, 1e-4);
    expectClose(results.wasm![1]!, results.cpu![1]!, 1e-4);
  });
});

describe('registered gradients are the exact adjoints of the linear gradient kernels', () => {
  // L(dy) = ⟨ddx, G(dy)⟩ is linear in dy, so ⟨∇L, dy⟩ must equal L(dy) for the gradient to be right.
  const cases: Array<[string, string, number[], number[], object]> = [
    ['AvgPoolGrad 3x3 s2 same, odd size', 'AvgPoolGrad', [2, 7, 9, 3], [2, 4, 5, 3], { filterSize: 3, strides: 2, pad: 'same' }],
    ['AvgPoolGrad 2x2 s2 valid', 'AvgPoolGrad', [2, 8, 6, 2], [2, 4, 3, 2], { filterSize: 2, strides: 2, pad: 'valid' }],
    ['AvgPoolGrad 3x3 s1 explicit pad 1', 'AvgPoolGrad', [1, 5, 6, 2], [1, 5, 6, 2], { filterSize: 3, strides: 1, pad: 1 }],
    ['ResizeNearestNeighborGrad x2', 'ResizeNearestNeighborGrad', [2, 4, 5, 3], [2, 8, 10, 3], { alignCorners: false, halfPixelCenters: false }],
    ['ResizeNearestNeighborGrad halfPixelCenters', 'ResizeNearestNeighborGrad', [2, 5, 4, 2], [2, 7, 9, 2], { alignCorners: false, halfPixelCenters: true }],
    ['ResizeNearestNeighborGrad alignCorners down', 'ResizeNearestNeighborGrad', [2, 7, 6, 2], [2, 4, 3, 2], { alignCorners: true, halfPixelCenters: false }],
    ['ResizeBilinearGrad x2', 'ResizeBilinearGrad', [2, 4, 5, 3], [2, 8, 10, 3], { alignCorners: false, halfPixelCenters: false }],
    ['ResizeBilinearGrad alignCorners', 'ResizeBilinearGrad', [2, 4, 5, 3], [2, 7, 9, 3], { alignCorners: true, halfPixelCenters: false }],
    ['ResizeBilinearGrad halfPixelCenters', 'ResizeBilinearGrad', [2, 5, 4, 2], [2, 7, 9, 2], { alignCorners: false, halfPixelCenters: true }],
  ];
  for (const backend of BACKENDS) {
    it.each(cases)(`%s [${backend}]`, async (_name, kernel, inputShape, dyShape, attrs) => {
      await tf.setBackend(backend);
      await expectNoLeakedTensors(() => {
        tf.tidy(() => {
          const input = tensor(inputShape, 4);
          const dy = tensor(dyShape, 5);
          const ddx = tensor(inputShape, 6);
          const inputs = kernel === 'AvgPoolGrad' ? { dy, input } : { dy, images: input };
          const L = (d: tf.Tensor) =>
            tf.sum(tf.mul(ddx, tf.engine().runKernel(kernel, { ...inputs, dy: d } as unknown as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as tf.Tensor));
          const { value, grad } = tf.valueAndGrad(L)(dy);
          const lhs = value.dataSync()[0]!;
          const rhs = tf.sum(tf.mul(grad, dy)).dataSync()[0]!;
          expect(Math.abs(lhs - rhs), `${lhs} vs ${rhs}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(lhs)));
        });
      });
    });
  }

  it('comparison and logical ops get zero gradients', async () => {
    await tf.setBackend('cpu');
    tf.tidy(() => {
      const x = tensor([5], 7);
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.cast(tf.logicalAnd(tf.greater(v, 0), tf.logicalNot(tf.equal(v, 0.5))), 'float32')))(x);
      expect(Array.from(g.dataSync())).toEqual([0, 0, 0, 0, 0]);
    });
  });

  it('leakyRelu: dy·step(x, alpha) — alpha below and at 0, 1 above — and a gradient of the gradient w.r.t. dy', async () => {
    await tf.setBackend('cpu');
    registerSecondOrderGradients();
    registerSecondOrderGradients(); // idempotent
    tf.tidy(() => {
      const x = tf.tensor1d([-2, -0.5, 0, 0.25, 3]);
      const dy = tf.tensor1d([1, 2, 3, 4, 5]);
      const dx = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(v, 0.2), dy)))(x);
      expect(Array.from(dx.dataSync())).toEqual([0.2, 0.4, 3 * 0.2, 4, 5].map((v) => Math.fround(v)));
      // d/d(dy) of sum(grad · c) = step(x) · c: what R1 differentiates through
      const c = tf.tensor1d([1, 1, 1, 1, 1]);
      const ddy = tf.grad((d: tf.Tensor) => tf.sum(tf.mul(tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(v, 0.2), d)))(x), c)))(dy);
      expect(Array.from(ddy.dataSync())).toEqual([0.2, 0.2, 0.2, 1, 1].map((v) => Math.fround(v)));
    });
  });
});
