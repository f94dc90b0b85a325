import { ageToGroupWeights, FFHQ_AGING_GROUPS, type AgeGroupSet } from '@ragan/core';

/** Describes a slider age: the two groups it blends and their weights, e.g. "34 (30-39 60 %, 40-49 40 %)". */
export function describeAge(age: number, set: AgeGroupSet = FFHQ_AGING_GROUPS): string {
  const w = ageToGroupWeights(age, set);
  const parts = w
    .map((v, i) => ({ v, label: set.groups[i]!.label }))
    .filter((p) => p.v > 1e-6)
    .sort((a, b) => b.v - a.v)
    .map((p) => (p.v > 0.999 ? p.label : `${p.label} ${Math.round(p.v * 100)} %`));
  return `${age} (${parts.join(', ')})`;
}
