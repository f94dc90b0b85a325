import type * as tf from '@tensorflow/tfjs';
import { ConfigError, type AgeGroupSet } from '@ragan/core';
import type { AgeEstimator, FaceEmbedder, FeatureExtractor } from '../interfaces.js';

/** The faces of one loaded batch re-aged to one target group (only the faces not already in it). */
export interface TargetBatch {
  /** Target group index. */
  group: number;
  /** Rows of the source batch that were re-aged to `group`. */
  rows: number[];
  /** `[R, H, W, 3]` inputs of those rows, `[R, H, W, 1]` masks, `[R, H, W, 3]` generated outputs. */
  inputs: tf.Tensor4D;
  masks: tf.Tensor4D;
  outputs: tf.Tensor4D;
  /** Milliseconds the model took to generate `outputs` (data downloaded, so async backends are included). */
  generateMs: number;
}

/**
 * One loaded batch and every re-aged version of it. The runner owns every tensor and disposes them after
 * all metrics have seen the batch: metrics must not keep references (copy numbers out instead).
 */
export interface GeneratedBatch {
  inputs: tf.Tensor4D;
  masks: tf.Tensor4D;
  /** Labelled group and age of each input. */
  sourceGroups: number[];
  sourceAges: (number | null)[];
  /**
   * Subgroups each input belongs to (e.g. `gender:female`, `race:Asian`), when the evaluation was asked
   * for them: the age and identity metrics then also report their figures per subgroup (`byStratum`).
   */
  sourceStrata?: string[][];
  targets: TargetBatch[];
}

/** What metrics can use; optional networks are undefined when the caller did not provide them. */
export interface MetricContext {
  groups: AgeGroupSet;
  seed: number;
  backend: string;
  ageEstimator: AgeEstimator | undefined;
  /** Identity embedders; the first is the primary one (face-api's in `ragan eval`). */
  embedders: readonly FaceEmbedder[];
  extractor: FeatureExtractor | undefined;
}

export interface MetricAccumulator<R> {
  update(batch: GeneratedBatch): Promise<void>;
  /** Result after the last batch; must be JSON (numbers finite or null). */
  finish(): Promise<R>;
}

export type MetricRequirement = 'ageEstimator' | 'embedder' | 'extractor';

export interface MetricDefinition<R = unknown> {
  /** Key in the results' `metrics` object. */
  readonly name: string;
  readonly description: string;
  /** Networks it needs; without them the metric is skipped and its result is null. */
  readonly requires: readonly MetricRequirement[];
  create(ctx: MetricContext): MetricAccumulator<R>;
}

/** Metrics by name, in registration order (the order they run and print). */
export class MetricRegistry {
  private readonly defs = new Map<string, MetricDefinition>();

  /** Adds a metric; a name already taken throws ConfigError (replace with `override`). */
  register<R>(def: MetricDefinition<R>, opts: { override?: boolean } = {}): this {
    if (!/^[a-zA-Z][a-zA-Z0-9_-]*$/.test(def.name))
      throw new ConfigError('metric.name', `"${def.name}" must start with a letter and hold only letters, digits, _ and -`);
    if (this.defs.has(def.name) && !opts.override)
      throw new ConfigError('metric.name', `a metric named "${def.name}" is already registered (pass { override: true } to replace it)`);
    this.defs.set(def.name, def as MetricDefinition);
    return this;
  }

  get(name: string): MetricDefinition | undefined {
    return this.defs.get(name);
  }

  list(): MetricDefinition[] {
    return [...this.defs.values()];
  }

  /** A new registry with only `names` (ConfigError naming an unknown one). */
  pick(names: readonly string[]): MetricRegistry {
    const out = new MetricRegistry();
    for (const n of names) {
      const def = this.defs.get(n);
      if (!def) throw new ConfigError('metrics', `unknown metric "${n}"; known: ${[...this.defs.keys()].join(', ')}`);
      out.register(def);
    }
    return out;
  }
}

/** True when `ctx` has everything `def` requires. */
export function metricAvailable(def: MetricDefinition, ctx: MetricContext): boolean {
  return def.requires.every((r) => (r === 'ageEstimator' ? !!ctx.ageEstimator : r === 'embedder' ? ctx.embedders.length > 0 : !!ctx.extractor));
}

/** Mean of `xs`, or null for none (JSON has no NaN). */
export function meanOrNull(sum: number, count: number): number | null {
  return count > 0 ? sum / count : null;
}
