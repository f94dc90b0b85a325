import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FFHQ_AGING_GROUPS } from './config/age-groups.js';
import { ConfigError, ShapeError } from './errors/index.js';
import { ageStrip, describeAgeTarget, parseAgeTarget, reage, reageFaces } from './inference.js';
import { createRagan, type RaganModel } from './ragan.js';
import { expectTensorsClose } from '@ragan/test-utils/tensors';

describe('reage / ageStrip', () => {
  let model: RaganModel;
  let x: tf.Tensor4D;
  let m: tf.Tensor4D;

  beforeAll(async () => {
    await tf.setBackend('cpu');
    model = createRagan({ preset: 'tiny', resolution: 16 }, { seed: 5 });
    // give every age group its own CBN scale/shift so targets matter (they are 1/0 at init)
    for (const cbn of model.emaGenerator.batchNormLayers()) {
      cbn.gamma.assign(tf.randomUniform(cbn.gamma.shape, 0.5, 1.5, 'float32', 1));
      cbn.beta.assign(tf.randomUniform(cbn.beta.shape, -0.5, 0.5, 'float32', 2));
    }
    x = tf.randomUniform([2, 16, 16, 3], -1, 1, 'float32', 3) as tf.Tensor4D;
    m = tf.ones([2, 16, 16, 1]) as tf.Tensor4D;
  });

  afterAll(() => {
    model.dispose();
    tf.dispose([x, m]);
  });

  it('accepts a group label, an index or a continuous age, and an age at a group centre equals that group', () => {
    const byLabel = reage(model.emaGenerator, x, m, { group: '70+' });
    const byIndex = reage(model.emaGenerator, x, m, { group: 9 });
    expectTensorsClose(byLabel, byIndex, 0);
    const centre = reage(model.emaGenerator, x, m, { age: 34.5 }); // centre of 30-39
    const g6 = reage(model.emaGenerator, x, m, { group: 6 });
    expectTensorsClose(centre, g6, 1e-6);
    const between = reage(model.emaGenerator, x, m, { age: 39.5 }); // half 30-39, half 40-49
    expect(tf.max(tf.abs(tf.sub(between, g6))).dataSync()[0]).toBeGreaterThan(1e-4);
    tf.dispose([byLabel, byIndex, centre, g6, between]);
  });

  it('ageStrip gives each face in every group, face-major, without leaking', () => {
    const before = tf.memory().numTensors;
    const strip = ageStrip(model.emaGenerator, x, m);
    expect(strip.shape).toEqual([20, 16, 16, 3]);
    const face1group3 = reage(model.emaGenerator, x, m, { group: 3 });
    tf.tidy(() => expectTensorsClose(strip.slice([13, 0, 0, 0], [1, 16, 16, 3]), face1group3.slice([1, 0, 0, 0], [1, 16, 16, 3]), 1e-6));
    tf.dispose([strip, face1group3]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses images of another size and unknown groups with clear errors', () => {
    const big = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
    expect(() => reage(model.emaGenerator, big, tf.ones([1, 32, 32, 1]) as tf.Tensor4D, { group: 0 })).toThrow(/built for 16×16/);
    expect(() => reage(model.emaGenerator, x, m, { group: '90-99' })).toThrow(/not a group/);
    expect(() => reage(model.emaGenerator, x, m, { group: 12 })).toThrow(ShapeError);
    big.dispose();
  });
});

describe('parseAgeTarget / describeAgeTarget', () => {
  it('reads ages, labels, ranges inside one group and "N+"', () => {
    expect(parseAgeTarget('45')).toEqual({ age: 45 });
    expect(parseAgeTarget(' 7.5 ')).toEqual({ age: 7.5 });
    expect(parseAgeTarget('70+')).toEqual({ group: '70+' });
    expect(parseAgeTarget('50-69')).toEqual({ group: '50-69' });
    expect(parseAgeTarget('70-120')).toEqual({ group: '70+' });
    expect(parseAgeTarget('80+')).toEqual({ group: '70+' });
    expect(parseAgeTarget('20-25')).toEqual({ group: '20-29' });
    expect(parseAgeTarget('0-2', 'lats-6')).toEqual({ group: '0-2' });
  });

  it('refuses what is not one group or an age, naming the field and the groups', () => {
    expect(() => parseAgeTarget('25-35', FFHQ_AGING_GROUPS, '--to')).toThrow(/--to: "25-35" does not fall inside one age group.*70\+/);
    expect(() => parseAgeTarget('old')).toThrow(/neither an age nor an age group/);
    expect(() => parseAgeTarget('200')).toThrow(/beyond 130 years/);
    expect(() => parseAgeTarget('60-50')).toThrow(/empty range/);
    expect(() => parseAgeTarget('10-14', 'lats-6')).toThrow(ConfigError); // a gap in LATS's groups
  });

  it('describes a group or the blend an age makes', () => {
    expect(describeAgeTarget({ group: '70+' })).toEqual({ kind: 'group', group: '70+', index: 9 });
    expect(describeAgeTarget({ group: 2 })).toEqual({ kind: 'group', group: '7-9', index: 2 });
    const d = describeAgeTarget({ age: 39.5 });
    expect(d).toEqual({
      kind: 'age',
      age: 39.5,
      blend: [
        { group: '30-39', weight: 0.5 },
        { group: '40-49', weight: 0.5 },
      ],
    });
  });
});

describe('reageFaces', () => {
  let model: RaganModel;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    model = createRagan({ preset: 'tiny', resolution: 16 }, { seed: 7 });
  });
  afterAll(() => model.dispose());

  const crops = (n: number, side: number, seed: number) => tf.randomUniform([n, side, side, 3], -1, 1, 'float32', seed) as tf.Tensor4D;
  const ones = (n: number, side: number) => tf.ones([n, side, side, 1]) as tf.Tensor4D;

  it('at the model resolution equals reage; larger crops are area-averaged down and bilinearly up', () => {
    const before = tf.memory().numTensors;
    const x = crops(2, 16, 1);
    const m = ones(2, 16);
    const a = reageFaces(model.emaGenerator, x, m, { group: '70+' });
    const b = reage(model.emaGenerator, x, m, { group: '70+' });
    expectTensorsClose(a, b, 0);
    const big = crops(2, 64, 2);
    const mBig = ones(2, 64);
    const out = reageFaces(model.emaGenerator, big, mBig, { age: 45 });
    expect(out.shape).toEqual([2, 64, 64, 3]);
    tf.tidy(() => {
      const ref = tf.image.resizeBilinear(
        reage(model.emaGenerator, tf.avgPool(big, 4, 4, 'valid') as tf.Tensor4D, ones(2, 16), { age: 45 }),
        [64, 64],
        false,
        true,
      );
      expectTensorsClose(out, ref, 1e-6);
    });
    tf.dispose([x, m, a, b, big, mBig, out]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('takes crops of different sizes as an array, batches without changing results, and leaks nothing', () => {
    const before = tf.memory().numTensors;
    const a = crops(1, 32, 3);
    const b = crops(1, 48, 4); // not a multiple of 16: bilinear down
    const list = [a.squeeze([0]) as tf.Tensor3D, b.squeeze([0]) as tf.Tensor3D];
    const masks = [tf.ones([32, 32, 1]) as tf.Tensor3D, tf.ones([48, 48, 1]) as tf.Tensor3D];
    const outs = reageFaces(model.emaGenerator, list, masks, { group: 3 }, { batchSize: 1 });
    expect(outs.map((o) => o.shape)).toEqual([
      [32, 32, 3],
      [48, 48, 3],
    ]);
    const m1 = ones(1, 32);
    const single = reageFaces(model.emaGenerator, a, m1, { group: 3 });
    tf.tidy(() => expectTensorsClose(outs[0]!.expandDims(0), single, 1e-6));
    tf.dispose([a, b, m1, ...list, ...masks, ...outs, single]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('keepDetail adds the upsampled change to the crop; blendWithMask keeps the crop where the mask is 0', () => {
    tf.tidy(() => {
      const x = crops(1, 32, 5);
      const m = tf.concat([tf.ones([1, 32, 16, 1]), tf.zeros([1, 32, 16, 1])], 2) as tf.Tensor4D;
      const plain = reageFaces(model.emaGenerator, x, m, { group: 0 });
      const detail = reageFaces(model.emaGenerator, x, m, { group: 0 }, { keepDetail: true });
      const small = tf.avgPool(x, 2, 2, 'valid') as tf.Tensor4D;
      const change = tf.sub(reage(model.emaGenerator, small, tf.avgPool(m, 2, 2, 'valid') as tf.Tensor4D, { group: 0 }), small) as tf.Tensor4D;
      expectTensorsClose(detail, tf.clipByValue(tf.add(x, tf.image.resizeBilinear(change, [32, 32], false, true)), -1, 1), 1e-5);
      expect(tf.max(tf.abs(tf.sub(plain, detail))).dataSync()[0]).toBeGreaterThan(1e-3);
      const blended = reageFaces(model.emaGenerator, x, m, { group: 0 }, { blendWithMask: true });
      expectTensorsClose(blended.slice([0, 0, 16, 0], [1, 32, 16, 3]), x.slice([0, 0, 16, 0], [1, 32, 16, 3]), 0);
      expectTensorsClose(blended.slice([0, 0, 0, 0], [1, 32, 16, 3]), plain.slice([0, 0, 0, 0], [1, 32, 16, 3]), 1e-6);
    });
  });

  it('refuses mismatched crops and masks with clear errors', () => {
    tf.tidy(() => {
      expect(() => reageFaces(model.emaGenerator, crops(1, 32, 1), ones(1, 16), { group: 0 })).toThrow(/mask must be \[32, 32, 1\]/);
      expect(() => reageFaces(model.emaGenerator, tf.zeros([1, 32, 16, 3]) as tf.Tensor4D, ones(1, 32), { group: 0 })).toThrow(/square RGB/);
      expect(() => reageFaces(model.emaGenerator, [tf.zeros([16, 16, 3]) as tf.Tensor3D], [], { group: 0 })).toThrow(/1 crops need as many masks/);
    });
  });
});
