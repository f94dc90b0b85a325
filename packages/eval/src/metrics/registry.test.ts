import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ageFaces } from '../../test/fixtures.js';
import { evaluate } from '../run/evaluate.js';
import { identityBaseline } from '../run/models.js';
import { defaultMetrics } from './index.js';
import type { MetricDefinition } from './registry.js';

/** A plug-in metric: mean absolute change over the whole image, counted per pair. */
const meanChange: MetricDefinition<{ pairs: number; mean: number }> = {
  name: 'mean-change',
  description: 'mean absolute pixel change',
  requires: [],
  create() {
    let pairs = 0;
    let sum = 0;
    return {
      async update(batch) {
        for (const t of batch.targets) {
          const d = tf.tidy(() => tf.mean(tf.abs(tf.sub(t.outputs, t.inputs))));
          sum += (await d.data())[0]! * t.rows.length;
          d.dispose();
          pairs += t.rows.length;
        }
      },
      async finish() {
        return { pairs, mean: pairs ? sum / pairs : 0 };
      },
    };
  },
};

describe('MetricRegistry', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('holds the built-ins in order; refuses duplicates and bad names; pick() names an unknown metric', () => {
    const r = defaultMetrics();
    expect(r.list().map((m) => m.name)).toEqual(['age', 'identity', 'realism', 'background', 'cues', 'speed']);
    expect(() => r.register(meanChange).register(meanChange)).toThrow(/metric\.name: a metric named "mean-change" is already registered/);
    expect(() => r.register({ ...meanChange, name: '1 bad' })).toThrow(/metric\.name: "1 bad" must start with a letter/);
    expect(() => r.pick(['age', 'fidelity'])).toThrow(/metrics: unknown metric "fidelity"; known: age, identity/);
    expect(
      r
        .pick(['speed'])
        .list()
        .map((m) => m.name),
    ).toEqual(['speed']);
  });

  it('a registered plug-in metric runs beside the built-ins and lands in extraMetrics; missing networks give null', async () => {
    const { dataset, dispose } = await ageFaces([25, 45]);
    const r = await evaluate({ model: identityBaseline(), dataset, metrics: defaultMetrics().register(meanChange) });
    expect(r.extraMetrics).toEqual({ 'mean-change': { pairs: 18, mean: 0 } });
    expect(r.metrics.age).toBeNull();
    expect(r.metrics.identity).toBeNull();
    expect(r.metrics.background!.pairs).toBe(18);
    dispose();
  });
});
