import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FaceEmbedder } from '../interfaces.js';
import { cachedEmbedder } from './cached.js';

describe('cachedEmbedder', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('runs the network once per tensor, returns equal clones, evicts and frees', async () => {
    let calls = 0;
    const inner: FaceEmbedder = {
      name: 'n',
      sameIdentityThreshold: 0.6,
      dims: 3,
      embed: async (x) => (calls++, tf.tidy(() => tf.mean(x, [1, 2]) as tf.Tensor2D)),
    };
    const before = tf.memory().numTensors;
    const c = cachedEmbedder(inner, { size: 2 });
    const a = tf.ones([2, 4, 4, 3]) as tf.Tensor4D;
    const b = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
    const e1 = await c.embed(a);
    const e2 = await c.embed(a);
    expect(calls).toBe(1);
    expect(c.hits).toBe(1);
    expect(e2).not.toBe(e1);
    expect(e2.arraySync()).toEqual(e1.arraySync());
    tf.dispose([e1, e2]);
    const x = tf.ones([1, 4, 4, 3]) as tf.Tensor4D;
    tf.dispose([await c.embed(b), await c.embed(x), await c.embed(a)]); // a was evicted (size 2)
    expect(calls).toBe(4);
    c.dispose();
    tf.dispose([a, b, x]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
