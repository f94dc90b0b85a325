import * as tf from '@tensorflow/tfjs';
import { FFHQ_AGING_GROUPS } from '@ragan/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { cuePool, cuesMetric } from './cues.js';
import type { TargetBatch } from './registry.js';

const ctx = { groups: FFHQ_AGING_GROUPS, seed: 0, backend: 'cpu', ageEstimator: undefined, embedders: [], extractor: undefined };

describe('cues metric', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('measures the share of the face painted darker or recoloured, per target, and 0 for an unchanged face', async () => {
    const n = 2;
    const x = tf.fill([n, 32, 32, 3], 0.2) as tf.Tensor4D;
    const mask = tf.ones([n, 32, 32, 1]) as tf.Tensor4D;
    // a black square over a quarter of the face (16×16 of 32×32): brightness −1.2
    const holeMask = tf.tidy(() =>
      tf.pad(tf.ones([n, 16, 16, 1]), [
        [0, 0],
        [0, 16],
        [0, 16],
        [0, 0],
      ]),
    );
    const dark = tf.tidy(() => tf.sub(x, tf.mul(holeMask, 1.2))) as tf.Tensor4D;
    // teal over the same quarter: red down, green and blue up, brightness nearly kept
    const teal = tf.tidy(() => tf.add(x, tf.mul(holeMask, tf.tensor1d([-0.4, 0.15, 0.3])))) as tf.Tensor4D;
    const target = (group: number, outputs: tf.Tensor4D): TargetBatch => ({ group, rows: [0, 1], inputs: x, masks: mask, outputs, generateMs: 0 });
    const acc = cuesMetric.create(ctx);
    const before = tf.memory().numTensors;
    await acc.update({ inputs: x, masks: mask, sourceGroups: [5, 5], sourceAges: [25, 25], targets: [target(0, dark), target(9, teal), target(3, x)] });
    expect(tf.memory().numTensors).toBe(before);
    const r = await acc.finish();
    expect(r.pairs).toBe(6);
    const g = (label: string) => r.perGroup.find((p) => p.group === label)!;
    expect(g('0-2').brightShare).toBeCloseTo(0.25, 6);
    expect(g('0-2').colourShare).toBe(0);
    expect(g('70+').brightShare).toBe(0);
    expect(g('70+').colourShare).toBeCloseTo(0.25, 6);
    expect(g('10-14')).toMatchObject({ pairs: 2, brightShare: 0, colourShare: 0 });
    expect(g('20-29')).toMatchObject({ pairs: 0, brightShare: 0, colourShare: 0 });
    expect(r.brightShare).toBeCloseTo(0.25 / 3, 6);
    expect(r.colourShare).toBeCloseTo(0.25 / 3, 6);
    tf.dispose([x, mask, holeMask, dark, teal]);
  });

  it('looks only inside the face mask, and blurs by 1/32 of the side', async () => {
    expect([cuePool(128), cuePool(64), cuePool(16), cuePool(256)]).toEqual([4, 2, 1, 8]);
    const x = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
    const leftFace = tf.tidy(() =>
      tf.pad(tf.ones([1, 32, 16, 1]), [
        [0, 0],
        [0, 0],
        [0, 16],
        [0, 0],
      ]),
    ) as tf.Tensor4D;
    const rightDark = tf.tidy(() => tf.sub(x, tf.sub(1, leftFace))) as tf.Tensor4D;
    const acc = cuesMetric.create(ctx);
    await acc.update({
      inputs: x,
      masks: leftFace,
      sourceGroups: [5],
      sourceAges: [25],
      targets: [{ group: 0, rows: [0], inputs: x, masks: leftFace, outputs: rightDark, generateMs: 0 }],
    });
    expect((await acc.finish()).brightShare).toBe(0);
    tf.dispose([x, leftFace, rightDark]);
  });
});
