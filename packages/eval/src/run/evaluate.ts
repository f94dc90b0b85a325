import * as tf from '@tensorflow/tfjs';
import { ConfigError, DatasetError, VERSION as CORE_VERSION, getAgeGroupSet, sha256Hex } from '@ragan/core';
import type { AgeEstimator, EvalDataset, EvalModel, FaceEmbedder, FeatureExtractor } from '../interfaces.js';
import { defaultMetrics } from '../metrics/index.js';
import {
  metricAvailable,
  type GeneratedBatch,
  type MetricAccumulator,
  type MetricContext,
  type MetricRegistry,
  type TargetBatch,
} from '../metrics/registry.js';
import { RESULTS_KIND, RESULTS_SCHEMA_VERSION, type EvalResults } from '../results/schema.js';
import { createRng, sampleIndices } from '../rng.js';
import { EVAL_VERSION } from '../version.js';
import { checkModelFitsData } from './models.js';

export interface EvaluateOptions {
  model: EvalModel;
  dataset: EvalDataset;
  ageEstimator?: AgeEstimator;
  /** Identity embedders; the first is the primary one. */
  embedders?: FaceEmbedder[];
  /** Features for FID/KID; without one, realism is null. */
  extractor?: FeatureExtractor;
  /** Metrics to run. Default: the built-in ones (age, identity, realism, background, cues, speed). */
  metrics?: MetricRegistry;
  /** Evaluate a seeded random subset of this many faces. Default: the whole split. */
  limit?: number;
  /** Fixes the subset, KID's subsets and anything else random. Default 0. */
  seed?: number;
  /** Faces per loaded batch. Default 16. */
  batchSize?: number;
  /** Backend name recorded in the results. Default: tf.getBackend(). */
  backend?: string;
  /** More versions to record (e.g. `@ragan/cli`, `@ragan/data`). */
  versions?: Record<string, string>;
  /**
   * Subgroups of each face by its dataset id (e.g. `['gender:female', 'race:Asian']`): the age and
   * identity metrics then also report per subgroup (`byStratum`). Labels are `kind:value`.
   */
  strata?: (id: string) => string[];
  /** Called after each batch with faces done so far and the total. */
  onProgress?: (p: { done: number; total: number }) => void;
  /** Clock, for tests. */
  now?: () => number;
}

const msSince = (t0: number, now: () => number) => Math.max(0, now() - t0);

function hashLines(lines: readonly string[]): Promise<string> {
  return sha256Hex(new TextEncoder().encode(lines.join('\n')));
}

/**
 * Runs the evaluation protocol (docs/eval-protocol.md): every selected test face is re-aged to each
 * age group other than its own, and every metric sees each batch. Deterministic for a seed except for
 * the timings. Returns results that satisfy `evalResultsSchema`. Does not dispose the model or data.
 */
export async function evaluate(opts: EvaluateOptions): Promise<EvalResults> {
  const now = opts.now ?? (() => performance.now());
  const t0 = now();
  const { model, dataset } = opts;
  const seed = opts.seed ?? 0;
  if (!(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32)) throw new ConfigError('seed', `must be an integer from 0 to 2^32 - 1, got ${seed}`);
  const batchSize = opts.batchSize ?? 16;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new ConfigError('batchSize', `must be a positive integer, got ${batchSize}`);
  if (opts.limit !== undefined && !(Number.isInteger(opts.limit) && opts.limit >= 1))
    throw new ConfigError('limit', `must be a positive integer, got ${opts.limit}`);
  const set = getAgeGroupSet(dataset.ageGroups);
  checkModelFitsData(model, dataset);
  const size = dataset.ids.length;
  if (size === 0) throw new DatasetError(dataset.name, `the "${dataset.split}" split is empty; nothing to evaluate`);

  // A seeded subset, then read in index order (sequential reads; the order does not change any metric).
  const selected = (
    opts.limit !== undefined && opts.limit < size ? sampleIndices(size, opts.limit, createRng(seed)) : Array.from({ length: size }, (_, i) => i)
  ).sort((a, b) => a - b);
  const backend = opts.backend ?? tf.getBackend();
  const ctx: MetricContext = { groups: set, seed, backend, ageEstimator: opts.ageEstimator, embedders: opts.embedders ?? [], extractor: opts.extractor };
  const registry = opts.metrics ?? defaultMetrics();
  const running: Array<[string, MetricAccumulator<unknown> | null]> = registry
    .list()
    .map((def) => [def.name, metricAvailable(def, ctx) ? def.create(ctx) : null]);

  let loadMs = 0;
  let generateMs = 0;
  let metricsMs = 0;
  let done = 0;
  for (let start = 0; start < selected.length; start += batchSize) {
    const idx = selected.slice(start, start + batchSize);
    let t = now();
    const samples = await dataset.load(idx);
    loadMs += msSince(t, now);
    const targets: TargetBatch[] = [];
    try {
      if (samples.images.shape[0] !== idx.length || samples.groups.length !== idx.length) {
        throw new DatasetError(dataset.name, `load() returned ${samples.images.shape[0]} images and ${samples.groups.length} labels for ${idx.length} indices`);
      }
      for (const g of samples.groups)
        if (!(Number.isInteger(g) && g >= 0 && g < set.groups.length)) throw new DatasetError(dataset.name, `group ${g} is not in ${set.name}`);
      for (let g = 0; g < set.groups.length; g++) {
        const rows = samples.groups.flatMap((sg, i) => (sg === g ? [] : [i]));
        if (rows.length === 0) continue;
        const inputs = rows.length === idx.length ? tf.clone(samples.images) : (tf.gather(samples.images, rows) as tf.Tensor4D);
        const masks = rows.length === idx.length ? tf.clone(samples.masks) : (tf.gather(samples.masks, rows) as tf.Tensor4D);
        t = now();
        let outputs: tf.Tensor4D;
        try {
          outputs = await model.generate(inputs, masks, g);
          // Downloading the result waits for asynchronous backends (webgl, webgpu) so the timing is real.
          await outputs.data();
        } catch (e) {
          tf.dispose([inputs, masks]);
          throw e;
        }
        const ms = msSince(t, now);
        generateMs += ms;
        targets.push({ group: g, rows, inputs, masks, outputs, generateMs: ms });
      }
      const strataOf = opts.strata;
      const batch: GeneratedBatch = {
        inputs: samples.images,
        masks: samples.masks,
        sourceGroups: samples.groups,
        sourceAges: samples.ages,
        ...(strataOf ? { sourceStrata: idx.map((i) => strataOf(dataset.ids[i]!)) } : {}),
        targets,
      };
      t = now();
      for (const [, acc] of running) if (acc) await acc.update(batch);
      metricsMs += msSince(t, now);
    } finally {
      for (const tb of targets) tf.dispose([tb.inputs, tb.masks, tb.outputs]);
      tf.dispose([samples.images, samples.masks]);
    }
    done += idx.length;
    opts.onProgress?.({ done, total: selected.length });
  }

  const t = now();
  const results: Record<string, unknown> = {};
  for (const [name, acc] of running) results[name] = acc ? await acc.finish() : null;
  metricsMs += msSince(t, now);
  const builtin = ['age', 'identity', 'realism', 'background', 'cues', 'speed'] as const;
  const extra = Object.fromEntries(Object.entries(results).filter(([k]) => !(builtin as readonly string[]).includes(k)));

  const ids = selected.map((i) => dataset.ids[i]!);
  return {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    kind: RESULTS_KIND,
    createdAt: new Date().toISOString(),
    model: { name: model.name, kind: model.kind, sha256: model.sha256, ...(model.details ? { details: model.details } : {}) },
    dataset: {
      name: dataset.name,
      split: dataset.split,
      ageGroups: set.name,
      groupLabels: set.groups.map((g) => g.label),
      resolution: dataset.resolution,
      size,
      evaluated: selected.length,
      limit: opts.limit ?? null,
      datasetHash: dataset.datasetHash,
      splitHash: await hashLines(dataset.ids),
      subsetHash: await hashLines(ids),
    },
    seed,
    backend,
    versions: {
      '@ragan/eval': EVAL_VERSION,
      '@ragan/core': CORE_VERSION,
      '@tensorflow/tfjs': tf.version.tfjs,
      ...(typeof process !== 'undefined' ? { node: process.version } : {}),
      ...opts.versions,
    },
    timings: { totalMs: msSince(t0, now), loadMs, generateMs, metricsMs },
    metrics: Object.fromEntries(builtin.map((k) => [k, results[k] ?? null])) as EvalResults['metrics'],
    ...(Object.keys(extra).length ? { extraMetrics: extra } : {}),
  };
}
