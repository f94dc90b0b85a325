import { ConfigError } from '../errors/index.js';

/** An age group: inclusive age range [min, max]; `max` is Infinity for the open last group. */
export interface AgeGroup {
  readonly label: string;
  readonly min: number;
  readonly max: number;
}

export interface AgeGroupSet {
  readonly name: string;
  readonly groups: readonly AgeGroup[];
}

const g = (label: string, min: number, max: number): AgeGroup => ({ label, min, max });

/** FFHQ-Aging's 10 groups [ours, from FFHQ-Aging]. */
export const FFHQ_AGING_GROUPS: AgeGroupSet = {
  name: 'ffhq-aging-10',
  groups: [
    g('0-2', 0, 2),
    g('3-6', 3, 6),
    g('7-9', 7, 9),
    g('10-14', 10, 14),
    g('15-19', 15, 19),
    g('20-29', 20, 29),
    g('30-39', 30, 39),
    g('40-49', 40, 49),
    g('50-69', 50, 69),
    g('70+', 70, Infinity),
  ],
};

/** LATS's 6-group subset [ours, from LATS]. Ages between groups bin to the nearest group. */
export const LATS_GROUPS: AgeGroupSet = {
  name: 'lats-6',
  groups: [g('0-2', 0, 2), g('3-6', 3, 6), g('7-9', 7, 9), g('15-19', 15, 19), g('30-39', 30, 39), g('50-69', 50, 69)],
};

export const AGE_GROUP_SETS = { 'ffhq-aging-10': FFHQ_AGING_GROUPS, 'lats-6': LATS_GROUPS } as const;
export type AgeGroupSetName = keyof typeof AGE_GROUP_SETS;

export function getAgeGroupSet(name: string): AgeGroupSet {
  const set = (AGE_GROUP_SETS as Record<string, AgeGroupSet>)[name];
  if (!set) throw new ConfigError('ageGroups', `unknown age-group set "${name}"; use one of ${Object.keys(AGE_GROUP_SETS).join(', ')}`);
  return set;
}

/** Representative age of a group: the middle of its range (the open group uses min + 10). */
export function groupCenter(group: AgeGroup): number {
  return Number.isFinite(group.max) ? (group.min + group.max) / 2 : group.min + 10;
}

/**
 * Bins an exact age into a group index. Ages inside a group map to it; ages in a gap between groups
 * (LATS's set has gaps) map to the group whose range is nearest (ties go to the younger group).
 */
export function ageToGroup(age: number, set: AgeGroupSet = FFHQ_AGING_GROUPS): number {
  if (!Number.isFinite(age) || age < 0) throw new ConfigError('age', `an age must be a finite number ≥ 0, got ${age}`);
  let best = 0;
  let bestDist = Infinity;
  set.groups.forEach((grp, i) => {
    const d = age < grp.min ? grp.min - age : age > grp.max ? age - grp.max : 0;
    if (d < bestDist) {
      bestDist = d;
      best = i;
    }
  });
  return best;
}

/**
 * A continuous target age as a blend of the two neighbouring groups: weights over groups that sum to
 * one, with at most two non-zero entries. Used for smooth age sliders (CBN parameter blending).
 * Ages at or beyond the outermost group centres give a one-hot vector.
 */
export function ageToGroupWeights(age: number, set: AgeGroupSet = FFHQ_AGING_GROUPS): number[] {
  if (!Number.isFinite(age) || age < 0) throw new ConfigError('age', `an age must be a finite number ≥ 0, got ${age}`);
  const centers = set.groups.map(groupCenter);
  const w = new Array<number>(centers.length).fill(0);
  if (age <= centers[0]!) {
    w[0] = 1;
    return w;
  }
  const last = centers.length - 1;
  if (age >= centers[last]!) {
    w[last] = 1;
    return w;
  }
  for (let i = 0; i < last; i++) {
    const a = centers[i]!;
    const b = centers[i + 1]!;
    if (age >= a && age <= b) {
      const t = (age - a) / (b - a);
      w[i] = 1 - t;
      w[i + 1] = t;
      return w;
    }
  }
  w[last] = 1;
  return w;
}

/** Parses a group given by label ("50-69", "70+") or index ("8"). */
export function parseGroup(value: string, set: AgeGroupSet = FFHQ_AGING_GROUPS): number {
  const byLabel = set.groups.findIndex((grp) => grp.label === value);
  if (byLabel >= 0) return byLabel;
  if (/^\d+$/.test(value) && Number(value) < set.groups.length) return Number(value);
  throw new ConfigError('group', `"${value}" is not a group of ${set.name}: ${set.groups.map((x) => x.label).join(', ')}`);
}
