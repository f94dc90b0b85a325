import * as tf from '@tensorflow/tfjs';
import { FFHQ_AGING_GROUPS, LATS_GROUPS } from '@ragan/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ageFaces, fakeAgeEstimator, oracleModel } from '../../test/fixtures.js';
import { identityBaseline } from '../run/models.js';
import { evaluate } from '../run/evaluate.js';
import { ageMetric, ageRangeDistance, estimatedGroup, inAgeGroup } from './age.js';
import { MetricRegistry } from './registry.js';

const G = FFHQ_AGING_GROUPS.groups;
const onlyAge = () => new MetricRegistry().register(ageMetric);

describe('age metric', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('ranges are whole years: 29.7 is in 20-29, 30 is not; distance is to [min, max + 1)', () => {
    expect(inAgeGroup(29.7, G[5]!)).toBe(true);
    expect(inAgeGroup(30, G[5]!)).toBe(false);
    expect(ageRangeDistance(25, G[5]!)).toBe(0);
    expect(ageRangeDistance(17, G[5]!)).toBe(3);
    expect(ageRangeDistance(32.5, G[5]!)).toBe(2.5);
    expect(ageRangeDistance(99, G[9]!)).toBe(0);
    expect(ageRangeDistance(60, G[9]!)).toBe(10);
    expect(estimatedGroup(29.9, FFHQ_AGING_GROUPS)).toBe(5);
    expect(estimatedGroup(-3, FFHQ_AGING_GROUPS)).toBe(0);
    // LATS has gaps: 11 is nearest to 7-9 (distance 1 to [7, 10) vs 4 to 15)
    expect(estimatedGroup(11, LATS_GROUPS)).toBe(2);
  });

  it('identity baseline: no hits, distances and confusion by hand', async () => {
    const { dataset, dispose } = await ageFaces([25, 45, 5]); // groups 20-29, 40-49, 3-6
    const before = tf.memory().numTensors;
    const r = await evaluate({ model: identityBaseline(), dataset, ageEstimator: fakeAgeEstimator, metrics: onlyAge() });
    expect(tf.memory().numTensors).toBe(before);
    const age = r.metrics.age!;
    expect(age.pairs).toBe(27); // 3 faces × 9 other groups
    expect(age.hitRate).toBe(0);
    const old = age.perGroup[9]!; // 70+: all three faces, estimated 25, 45, 5 → 45, 25, 65 years short
    expect(old.pairs).toBe(3);
    expect(old.meanEstimatedAge).toBeCloseTo(25, 3);
    expect(old.meanRangeDistance).toBeCloseTo(45, 3);
    expect(age.perGroup[5]!.pairs).toBe(2); // the 25-year-old is never re-aged to its own group
    expect(age.confusion.counts[9]).toEqual([0, 1, 0, 0, 0, 1, 0, 1, 0, 0]);
    expect(age.confusion.counts[5]).toEqual([0, 1, 0, 0, 0, 0, 0, 1, 0, 0]);
    expect(age.inputs).toEqual({ faces: 3, meanAbsoluteError: expect.closeTo(0, 3), hitRate: 1 });
    // within one group: target 30-39 (6) is next to the 25-year-old's 20-29 and the 45-year-old's
    // 40-49, target 7-9 (2) next to the 5-year-old's 3-6; 27 pairs, each face near 2 targets, so 6
    expect(age.perGroup[6]!.withinOneRate).toBeCloseTo(2 / 3, 6);
    expect(age.perGroup[2]!.withinOneRate).toBe(1 / 3);
    expect(age.perGroup[9]!.withinOneRate).toBe(0);
    expect(age.withinOneRate).toBeCloseTo(6 / 27, 6);
    dispose();
  });

  it('a model that paints the target age hits every group', async () => {
    const { dataset, dispose } = await ageFaces([25, 45, 5, 71]);
    const r = await evaluate({ model: oracleModel(), dataset, ageEstimator: fakeAgeEstimator, metrics: onlyAge() });
    const age = r.metrics.age!;
    expect(age.hitRate).toBe(1);
    expect(age.withinOneRate).toBe(1);
    expect(age.meanRangeDistance).toBe(0);
    expect(age.perGroup[9]!.meanEstimatedAge).toBeCloseTo(80, 3); // 70+ is painted at 70 + 10
    age.confusion.counts.forEach((row, i) => expect(row.reduce((a, b) => a + b, 0)).toBe(row[i]));
    dispose();
  });

  it('an estimator that returns the wrong count is refused with its name', async () => {
    const { dataset, dispose } = await ageFaces([25, 45]);
    const bad = { name: 'broken-estimator', estimate: async () => [1] };
    await expect(evaluate({ model: identityBaseline(), dataset, ageEstimator: bad, metrics: onlyAge() })).rejects.toThrow(
      /broken-estimator.*returned 1 values for 2/,
    );
    dispose();
  });

  it('per subgroup: the same figures for the faces of each stratum, and a face may be in several', async () => {
    const { dataset, dispose } = await ageFaces([25, 45, 5, 71]);
    // ids are `${age}_${i}.jpg`: the children in one stratum, the adults in another, everyone in "all"
    const strata = (id: string) => [Number(id.split('_')[0]) < 18 ? 'life:child' : 'life:adult', 'set:all'];
    const r = await evaluate({ model: oracleModel(), dataset, ageEstimator: fakeAgeEstimator, metrics: onlyAge(), strata });
    const by = r.metrics.age!.byStratum!;
    expect(Object.keys(by)).toEqual(['life:adult', 'life:child', 'set:all']);
    expect(by['life:child']).toMatchObject({ faces: 1, pairs: 9, hitRate: 1, withinOneRate: 1, meanRangeDistance: 0 });
    expect(by['life:adult']).toMatchObject({ faces: 3, pairs: 27, hitRate: 1 });
    expect(by['set:all']!.pairs).toBe(r.metrics.age!.pairs);
    // the child is never re-aged to its own group (3-6): null there; 70+ is painted at 80
    expect(by['life:child']!.meanEstimatedAge[1]).toBeNull();
    expect(by['life:child']!.meanEstimatedAge[9]).toBeCloseTo(80, 3);
    // the identity baseline: the child's outputs stay 5, so only the targets next to 3-6 are within one
    const id = await evaluate({ model: identityBaseline(), dataset, ageEstimator: fakeAgeEstimator, metrics: onlyAge(), strata });
    expect(id.metrics.age!.byStratum!['life:child']).toMatchObject({ pairs: 9, hitRate: 0, withinOneRate: 2 / 9 });
    // without strata there is no byStratum
    expect((await evaluate({ model: identityBaseline(), dataset, ageEstimator: fakeAgeEstimator, metrics: onlyAge() })).metrics.age!.byStratum).toBeUndefined();
    dispose();
  });
});
