import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { validResults } from '../../test/fixtures.js';
import type { EvalResults } from './schema.js';
import { formatComparison } from './summary.js';

let good: EvalResults;
const copy = (): EvalResults => JSON.parse(JSON.stringify(good)) as EvalResults;

describe('formatComparison', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    good = await validResults();
  });

  it('puts each model in a column with the headline figures and the per-group hit rates', () => {
    const other = copy();
    other.metrics.age!.hitRate = 0.125;
    other.metrics.identity!.shareBelowThreshold = 0.875;
    const md = formatComparison([
      { label: 'model', results: other },
      { label: 'identity', results: good },
    ]);
    const lines = md.trim().split('\n');
    expect(lines[0]).toBe('| metric | model | identity |');
    expect(lines.find((l) => l.startsWith('| age: target-group hit rate |'))).toBe(
      `| age: target-group hit rate | 0.125 | ${good.metrics.age!.hitRate.toFixed(3)} |`,
    );
    expect(md).toContain('| identity: share < 0.6 (same person) | 0.875 |');
    expect(lines.find((l) => l.startsWith('| target group |'))).toBe(`| target group | ${good.dataset.groupLabels.join(' | ')} |`);
    expect(md).toContain('| model: age hit rate |');
    expect(md).toContain('| identity: mean estimated age |');
  });

  it('adds a table per subgroup when the results have byStratum, and none without', () => {
    const other = copy();
    other.metrics.age!.byStratum = {
      'gender:female': {
        faces: 3,
        pairs: 27,
        hitRate: 0.25,
        withinOneRate: 0.5,
        meanRangeDistance: 4,
        meanEstimatedAge: [3.5, 5, null, null, null, null, null, null, null, 71.25],
      },
    };
    other.metrics.identity!.byStratum = { 'gender:female': { pairs: 27, meanDistance: 0.3, shareBelowThreshold: 0.9 } };
    const md = formatComparison([{ label: 'model', results: other }]);
    expect(md).toContain(
      '| subgroup | model | faces | age hit rate | within one group | mean est. age at 0-2 | mean est. age at 3-6 | mean est. age at 70+ | identity share ' +
        '< threshold |',
    );
    expect(md).toContain('| gender:female | model | 3 | 0.250 | 0.500 | 3.5 | 5.0 | 71.3 | 0.900 |');
    expect(formatComparison([{ label: 'identity', results: good }])).not.toContain('| subgroup |');
  });

  it('refuses results on other faces, naming both', () => {
    const elsewhere = copy();
    elsewhere.dataset.subsetHash = 'f'.repeat(64);
    expect(() =>
      formatComparison([
        { label: 'a', results: good },
        { label: 'b', results: elsewhere },
      ]),
    ).toThrow(/b was evaluated on other faces than a/);
  });

  it('refuses results measured with another age estimator', () => {
    const other = copy();
    other.metrics.age!.estimator = 'some other regressor';
    expect(() =>
      formatComparison([
        { label: 'a', results: good },
        { label: 'b', results: other },
      ]),
    ).toThrow(/b was measured with another age estimator/);
  });
});
