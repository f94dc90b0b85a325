import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ageFaces, ageToPixel, fakeEmbedder, fakeEmbedder2, oracleModel } from '../../test/fixtures.js';
import { evaluate } from '../run/evaluate.js';
import { identityBaseline } from '../run/models.js';
import { identityMetric, rowDistances } from './identity.js';
import { MetricRegistry } from './registry.js';

const onlyIdentity = () => new MetricRegistry().register(identityMetric);

describe('identity metric', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('rowDistances: Euclidean per row', async () => {
    const a = tf.tensor2d([
      [0, 0],
      [1, 1],
    ]);
    const b = tf.tensor2d([
      [3, 4],
      [1, 1],
    ]);
    expect(await rowDistances(a, b)).toEqual([5, 0]);
    tf.dispose([a, b]);
  });

  it('identity baseline keeps everyone: distance 0, all under the threshold, for every embedder', async () => {
    const { dataset, dispose } = await ageFaces([25, 45, 5]);
    const before = tf.memory().numTensors;
    const r = await evaluate({ model: identityBaseline(), dataset, embedders: [fakeEmbedder, fakeEmbedder2], metrics: onlyIdentity() });
    expect(tf.memory().numTensors).toBe(before);
    const id = r.metrics.identity!;
    expect(id.embedder).toBe('fake-channel-mean');
    expect(id.pairs).toBe(27);
    expect(id.meanDistance).toBe(0);
    expect(id.shareBelowThreshold).toBe(1);
    expect(id.others).toHaveLength(1);
    expect(id.others[0]!.embedder).toBe('fake-channel-mean-x2');
    expect(id.others[0]!.threshold).toBe(0.5);
    dispose();
  });

  it('distances by hand: constant faces c, c′ are √3·|c − c′| apart; the share counts those under 0.6', async () => {
    const { dataset, dispose } = await ageFaces([25]); // pixel -0.5
    const r = await evaluate({ model: oracleModel(), dataset, embedders: [fakeEmbedder], metrics: onlyIdentity() });
    const id = r.metrics.identity!;
    // target 30-39 is painted at 34.5 → pixel -0.31: distance √3 · 0.19
    const d3039 = Math.sqrt(3) * Math.abs(ageToPixel(34.5) - ageToPixel(25));
    expect(id.perGroup[6]!.meanDistance).toBeCloseTo(d3039, 5);
    expect(id.perGroup[6]!.shareBelowThreshold).toBe(1);
    // target 70+ is painted at 80 → pixel 0.6: distance √3 · 1.1 ≈ 1.91 > 0.6
    expect(id.perGroup[9]!.shareBelowThreshold).toBe(0);
    expect(id.perGroup[5]!.pairs).toBe(0); // its own group
    expect(id.perGroup[5]!.meanDistance).toBeNull();
    dispose();
  });

  it("per subgroup: the identity baseline keeps each stratum whole; the oracle's distances split by face", async () => {
    const { dataset, dispose } = await ageFaces([25, 5]);
    const strata = (id: string) => [id.startsWith('25_') ? 'who:adult' : 'who:child'];
    const base = await evaluate({ model: identityBaseline(), dataset, embedders: [fakeEmbedder], metrics: onlyIdentity(), strata });
    expect(base.metrics.identity!.byStratum).toEqual({
      'who:adult': { pairs: 9, meanDistance: 0, shareBelowThreshold: 1 },
      'who:child': { pairs: 9, meanDistance: 0, shareBelowThreshold: 1 },
    });
    const r = await evaluate({ model: oracleModel(), dataset, embedders: [fakeEmbedder], metrics: onlyIdentity(), strata });
    const id = r.metrics.identity!;
    const by = id.byStratum!;
    // the two strata's pair-weighted means make up the whole
    expect((by['who:adult']!.meanDistance! * 9 + by['who:child']!.meanDistance! * 9) / 18).toBeCloseTo(id.meanDistance, 6);
    expect(by['who:adult']!.meanDistance).not.toBeCloseTo(by['who:child']!.meanDistance!, 3);
    dispose();
  });
});
