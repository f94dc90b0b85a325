import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ageFaces, fakeAgeEstimator, fakeEmbedder, oracleModel } from '../../test/fixtures.js';
import { embedderFeatureExtractor } from '../extractors/embedder.js';
import { checkResultsConsistency } from '../results/consistency.js';
import { evalResultsSchema, type EvalResults } from '../results/schema.js';
import { formatSummary } from '../results/summary.js';
import { evaluate, type EvaluateOptions } from './evaluate.js';
import { identityBaseline, randomBaseline } from './models.js';

const AGES = [25, 27, 45, 47, 5, 6, 71, 33];
const full = (o: Pick<EvaluateOptions, 'model' | 'dataset'> & Partial<EvaluateOptions>): Promise<EvalResults> =>
  evaluate({ ageEstimator: fakeAgeEstimator, embedders: [fakeEmbedder], extractor: embedderFeatureExtractor(fakeEmbedder), batchSize: 3, ...o });
const withoutTimes = (r: EvalResults) => ({ ...r, createdAt: '', timings: null, metrics: { ...r.metrics, speed: null } });

describe('evaluate', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('runs every built-in metric; results pass the schema and the consistency checks; no tensor leaks', async () => {
    const { dataset, dispose } = await ageFaces(AGES);
    const before = tf.memory().numTensors;
    const progress: number[] = [];
    const r = await full({ model: identityBaseline(), dataset, onProgress: (p) => progress.push(p.done) });
    expect(tf.memory().numTensors).toBe(before);
    expect(progress).toEqual([3, 6, 8]);
    expect(evalResultsSchema.parse(r)).toEqual(r);
    expect(checkResultsConsistency(r)).toEqual([]);
    expect(r.model.sha256).toBe('baseline:identity');
    expect(r.dataset).toMatchObject({ name: 'fixture', split: 'test', size: 8, evaluated: 8, limit: null, resolution: 8 });
    expect(r.dataset.subsetHash).toBe(r.dataset.splitHash);
    expect(r.versions['@ragan/eval']).toBe('0.1.0');
    expect(r.backend).toBe('cpu');
    const { realism, background, speed } = r.metrics;
    expect(background).toEqual({ pairs: 72, mae: 0, psnr: null, backgroundFraction: 0.75 });
    expect(speed!.backend).toBe('cpu');
    expect(realism!.extractor).toEqual({ name: 'fake-channel-mean (non-standard)', standard: false, dims: 3, weightsSha256: null });
    // 20-29 has two real faces (25, 27) and six generated (every other face re-aged to it)
    expect(realism!.perGroup[5]).toMatchObject({ group: '20-29', nReal: 2, nGenerated: 6 });
    expect(realism!.perGroup[5]!.fid).toBeGreaterThan(0);
    expect(realism!.perGroup[0]).toMatchObject({ nReal: 0, fid: null, kid: null });
    expect(formatSummary(r)).toMatch(/70\+ .*\n/);
    expect(formatSummary(r)).toMatch(/NON-STANDARD/);
    dispose();
  });

  it('is deterministic for a seed; --limit picks a seeded subset', async () => {
    const { dataset, dispose } = await ageFaces(AGES);
    const a = await full({ model: oracleModel(), dataset, limit: 5, seed: 3 });
    const b = await full({ model: oracleModel(), dataset, limit: 5, seed: 3 });
    const c = await full({ model: oracleModel(), dataset, limit: 5, seed: 4 });
    expect(withoutTimes(a)).toEqual(withoutTimes(b));
    expect(a.dataset.evaluated).toBe(5);
    expect(a.dataset.limit).toBe(5);
    expect(a.dataset.subsetHash).not.toBe(a.dataset.splitHash);
    expect(c.dataset.subsetHash).not.toBe(a.dataset.subsetHash);
    expect(checkResultsConsistency(a)).toEqual([]);
    expect(a.metrics.age!.hitRate).toBe(1);
    expect(a.metrics.background!.psnr).toBeGreaterThan(0);
    dispose();
  });

  it('refuses a model built for another resolution or group set, and bad options, naming the field', async () => {
    const { dataset, dispose } = await ageFaces([25, 45]);
    const m = randomBaseline({ resolution: 16 });
    await expect(evaluate({ model: m, dataset })).rejects.toThrow(/resolution: the model takes 16×16 .* 8×8/);
    await expect(evaluate({ model: { ...identityBaseline(), ageGroups: 'lats-6' }, dataset })).rejects.toThrow(/ageGroups: .*lats-6/);
    await expect(evaluate({ model: identityBaseline(), dataset, limit: 0 })).rejects.toThrow(/limit: must be a positive integer/);
    await expect(evaluate({ model: identityBaseline(), dataset, seed: -1 })).rejects.toThrow(/seed:/);
    m.dispose();
    dispose();
  });
});
