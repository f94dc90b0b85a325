import { ageToGroup, FFHQ_AGING_GROUPS, type AgeGroupSet } from '@ragan/core';

/** Labels encoded in a UTKFace file name `age_gender_race_datetime.jpg.chip.jpg`. */
export interface UtkFaceLabel {
  file: string;
  age: number;
  /** 0 male, 1 female. */
  gender: 0 | 1;
  /** 0 White, 1 Black, 2 Asian, 3 Indian, 4 Others. */
  race: 0 | 1 | 2 | 3 | 4;
  datetime: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

const UTK_RE = /^(\d{1,3})_([01])_([0-4])_(\d{8,20})\.jpg\.chip\.jpg$/i;

/**
 * Parses a UTKFace file name. Malformed names (the data set has a few without the gender field)
 * give `{ ok: false, reason }` rather than throwing, so readers can skip and count them.
 */
export function parseUtkFaceName(file: string): ParseResult<UtkFaceLabel> {
  const base = file.split(/[\\/]/).pop() ?? file;
  const m = UTK_RE.exec(base);
  if (!m) {
    const parts = base.split('_');
    const why =
      parts.length !== 4
        ? `expected 4 underscore-separated fields age_gender_race_datetime, found ${parts.length}`
        : 'fields must be age (0-120), gender (0/1), race (0-4) and a numeric datetime, ending .jpg.chip.jpg';
    return { ok: false, reason: `bad UTKFace file name "${base}": ${why}` };
  }
  const age = Number(m[1]);
  if (age > 120) return { ok: false, reason: `bad UTKFace file name "${base}": age ${age} is over 120` };
  return {
    ok: true,
    value: { file: base, age, gender: Number(m[2]) as 0 | 1, race: Number(m[3]) as UtkFaceLabel['race'], datetime: m[4]! },
  };
}

export interface LabelledName {
  file: string;
  age: number;
  group: number;
}

/** Parses many names, binning ages into groups; returns kept items and skipped names with reasons. */
export function labelUtkFaceNames(
  files: readonly string[],
  set: AgeGroupSet = FFHQ_AGING_GROUPS,
): { kept: LabelledName[]; skipped: Array<{ file: string; reason: string }> } {
  const kept: LabelledName[] = [];
  const skipped: Array<{ file: string; reason: string }> = [];
  for (const f of files) {
    const r = parseUtkFaceName(f);
    if (r.ok) kept.push({ file: f, age: r.value.age, group: ageToGroup(r.value.age, set) });
    else skipped.push({ file: f, reason: r.reason });
  }
  return { kept, skipped };
}
