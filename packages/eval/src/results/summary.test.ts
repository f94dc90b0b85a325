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
    expect(lines.find((l) => l.startsWith('| age: target-group hit rate |'))).toBe(`| age: target-group hit rate | 0.125 | ${good.metrics.age!.hitRate.toFixed(3)} |`);
    expect(md).toContain('| identity: share < 0.6 (same person) | 0.875 |');
    expect(lines.find((l) => l.startsWith('| target group |'))).toBe(`| target group | ${good.dataset.groupLabels.join(' | ')} |`);
    expect(md).toContain('| model: age hit rate |');
    expect(md).toContain('| identity: mean estimated age |');
  });

  it('refuses results on other faces, naming both', () => {
    const elsewhere = copy();
    elsewhere.dataset.subsetHash = 'f'.repeat(64);
    expect(() => formatComparison([{ label: 'a', results: good }, { label: 'b', results: elsewhere }])).toThrow(/b was evaluated on other faces than a/);
  });

  it('refuses results measured with another age estimator', () => {
    const other = copy();
    other.metrics.age!.estimator = 'some other regressor';
    expect(() => formatComparison([{ label: 'a', results: good }, { label: 'b', results: other }])).toThrow(/b was measured with another age estimator/);
  });
});
