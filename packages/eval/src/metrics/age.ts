import { ageToGroup, ShapeError, type AgeGroup, type AgeGroupSet } from '@ragan/core';
import { meanOrNull, type MetricContext, type MetricDefinition } from './registry.js';

export interface AgeGroupScores {
  group: string;
  /** Faces re-aged to this group. */
  pairs: number;
  /** Share whose estimated age falls in the group (null when pairs = 0). */
  hitRate: number | null;
  /** Share whose estimated age falls in the group or a neighbouring one (null when pairs = 0). */
  withinOneRate?: number | null;
  meanEstimatedAge: number | null;
  /** Mean years outside the group's range (0 inside it). */
  meanRangeDistance: number | null;
}

/** The age figures of one subgroup of the faces (`GeneratedBatch.sourceStrata`). */
export interface AgeStratumScores {
  /** Input faces in the subgroup. */
  faces: number;
  pairs: number;
  hitRate: number | null;
  withinOneRate: number | null;
  meanRangeDistance: number | null;
  /** Mean estimated age per target group (null where the subgroup has no pair), in the set's order. */
  meanEstimatedAge: Array<number | null>;
}

export interface AgeMetricResult {
  estimator: string;
  pairs: number;
  hitRate: number;
  /** Share of outputs whose estimated group is the target or next to it (older results lack it). */
  withinOneRate?: number;
  meanRangeDistance: number;
  perGroup: AgeGroupScores[];
  /** `counts[target][estimated group]`: rows are target groups, columns the group the estimate falls in. */
  confusion: { labels: string[]; counts: number[][] };
  /**
   * The estimator on the real inputs against their labels: how far to trust the numbers above.
   * `meanAbsoluteError` is null when the dataset has no exact ages.
   */
  inputs: { faces: number; meanAbsoluteError: number | null; hitRate: number };
  /** The same figures per subgroup, when the evaluation was given subgroups (e.g. per gender and race). */
  byStratum?: Record<string, AgeStratumScores>;
}

/**
 * Estimated ages are real numbers; a group's range is whole years (e.g. 20-29), so an estimate of
 * 29.7 counts as 29 (as a person of 29 years and 8 months is "29"). Distance is measured to the
 * half-open range [min, max + 1): 0 inside, otherwise years below min or at/after max + 1.
 */
export function ageRangeDistance(age: number, group: AgeGroup): number {
  const hi = Number.isFinite(group.max) ? group.max + 1 : Infinity;
  if (age < group.min) return group.min - age;
  if (age >= hi) return age - hi;
  return 0;
}

/** True when an estimated age counts as inside `group`: min ≤ age < max + 1. */
export function inAgeGroup(age: number, group: AgeGroup): boolean {
  return age >= group.min && (!Number.isFinite(group.max) || age < group.max + 1);
}

/** The group an estimated age falls in (fractions dropped; gaps in a set go to the nearest group). */
export function estimatedGroup(age: number, set: AgeGroupSet): number {
  return ageToGroup(Math.max(0, Math.floor(age)), set);
}

/** Target-group hit rate, distance from the target range, mean estimated age, confusion matrix. */
export const ageMetric: MetricDefinition<AgeMetricResult> = {
  name: 'age',
  description: 'an independent age estimator on the outputs: target-group hit rate, years outside the target range, confusion matrix',
  requires: ['ageEstimator'],
  create(ctx: MetricContext) {
    const estimator = ctx.ageEstimator!;
    const set = ctx.groups;
    const k = set.groups.length;
    const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
    const sumAge = new Array<number>(k).fill(0);
    const sumDist = new Array<number>(k).fill(0);
    const hits = new Array<number>(k).fill(0);
    const near = new Array<number>(k).fill(0);
    const pairs = new Array<number>(k).fill(0);
    const strata = new Map<string, { faces: number; pairs: number; hits: number; near: number; dist: number; sumAge: number[]; pairsBy: number[] }>();
    const stratum = (name: string) => {
      let st = strata.get(name);
      if (!st)
        strata.set(name, (st = { faces: 0, pairs: 0, hits: 0, near: 0, dist: 0, sumAge: new Array<number>(k).fill(0), pairsBy: new Array<number>(k).fill(0) }));
      return st;
    };
    let inputFaces = 0;
    let inputAbsErr = 0;
    let inputAged = 0;
    let inputHits = 0;
    const check = (ages: number[], n: number) => {
      if (ages.length !== n || ages.some((a) => !Number.isFinite(a))) {
        throw new ShapeError(`age estimator "${estimator.name}" returned ${ages.length} values for ${n} images (or a non-finite one)`);
      }
    };
    return {
      async update(batch) {
        const inAges = await estimator.estimate(batch.inputs);
        check(inAges, batch.sourceGroups.length);
        inAges.forEach((a, i) => {
          inputFaces++;
          const label = batch.sourceAges[i];
          if (label !== null && label !== undefined) {
            inputAged++;
            inputAbsErr += Math.abs(a - label);
          }
          if (estimatedGroup(a, set) === batch.sourceGroups[i]) inputHits++;
          for (const name of batch.sourceStrata?.[i] ?? []) stratum(name).faces++;
        });
        for (const t of batch.targets) {
          const ages = await estimator.estimate(t.outputs);
          check(ages, t.rows.length);
          const grp = set.groups[t.group]!;
          ages.forEach((a, j) => {
            const est = estimatedGroup(a, set);
            pairs[t.group]!++;
            sumAge[t.group]! += a;
            const dist = ageRangeDistance(a, grp);
            sumDist[t.group]! += dist;
            if (inAgeGroup(a, grp)) hits[t.group]!++;
            if (Math.abs(est - t.group) <= 1) near[t.group]!++;
            confusion[t.group]![est]!++;
            for (const name of batch.sourceStrata?.[t.rows[j]!] ?? []) {
              const st = stratum(name);
              st.pairs++;
              st.pairsBy[t.group]!++;
              st.sumAge[t.group]! += a;
              st.dist += dist;
              if (inAgeGroup(a, grp)) st.hits++;
              if (Math.abs(est - t.group) <= 1) st.near++;
            }
          });
        }
      },
      async finish() {
        const total = pairs.reduce((a, b) => a + b, 0);
        return {
          estimator: estimator.name,
          pairs: total,
          hitRate: total ? hits.reduce((a, b) => a + b, 0) / total : 0,
          withinOneRate: total ? near.reduce((a, b) => a + b, 0) / total : 0,
          meanRangeDistance: total ? sumDist.reduce((a, b) => a + b, 0) / total : 0,
          perGroup: set.groups.map((g, i) => ({
            group: g.label,
            pairs: pairs[i]!,
            hitRate: meanOrNull(hits[i]!, pairs[i]!),
            withinOneRate: meanOrNull(near[i]!, pairs[i]!),
            meanEstimatedAge: meanOrNull(sumAge[i]!, pairs[i]!),
            meanRangeDistance: meanOrNull(sumDist[i]!, pairs[i]!),
          })),
          confusion: { labels: set.groups.map((g) => g.label), counts: confusion },
          inputs: { faces: inputFaces, meanAbsoluteError: meanOrNull(inputAbsErr, inputAged), hitRate: inputFaces ? inputHits / inputFaces : 0 },
          ...(strata.size
            ? {
                byStratum: Object.fromEntries(
                  [...strata.keys()].sort().map((name) => {
                    const st = strata.get(name)!;
                    return [
                      name,
                      {
                        faces: st.faces,
                        pairs: st.pairs,
                        hitRate: meanOrNull(st.hits, st.pairs),
                        withinOneRate: meanOrNull(st.near, st.pairs),
                        meanRangeDistance: meanOrNull(st.dist, st.pairs),
                        meanEstimatedAge: st.sumAge.map((v, i) => meanOrNull(v, st.pairsBy[i]!)),
                      },
                    ];
                  }),
                ),
              }
            : {}),
        };
      },
    };
  },
};
