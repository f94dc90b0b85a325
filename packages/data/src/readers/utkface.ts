import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ageToGroup, DatasetError, FFHQ_AGING_GROUPS, type AgeGroupSet } from '@ragan/core';
import { splitOf } from '../split.js';
import type { DatasetListing, ListOptions, SkippedFile, SourceItem } from './types.js';

/** Labels encoded in a UTKFace file name `age_gender_race_datetime.jpg.chip.jpg`. */
export interface UtkFaceLabel {
  file: string;
  age: number;
  /** 0 male, 1 female; null when the name leaves it uncertain (a field is missing). */
  gender: 0 | 1 | null;
  /** 0 White, 1 Black, 2 Asian, 3 Indian, 4 Others; null when the name leaves it uncertain. */
  race: 0 | 1 | 2 | 3 | 4 | null;
  datetime: string;
  /** Set when the name is malformed but its age is still certain: what was wrong and what was kept. */
  repaired?: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

const UTK_RE = /^(\d{1,3})_([01])_([0-4])_(\d{8,20})\.jpg\.chip\.jpg$/i;
/** Four fields with a stray space before the extension or its first dot missing (2 names in UTKFace). */
const UTK_TYPO_RE = /^(\d{1,3})_([01])_([0-4])_(\d{8,20}) ?\.?jpg\.chip\.jpg$/i;
/** Three fields: the age, one of gender or race (which one cannot be told), the datetime (3 names). */
const UTK_3_RE = /^(\d{1,3})_([0-4])_(\d{8,20})\.jpg\.chip\.jpg$/i;

/**
 * Parses a UTKFace file name. The age is the first field of every name, so a malformed name whose age
 * is still certain is kept, with what is uncertain set to null and `repaired` saying why: the whole
 * set has 5 such names (a stray space, a missing dot, and 3 names with only one of gender and race,
 * e.g. `61_1_…` and `61_3_…` for the same datetime). Any other malformed name gives `{ ok: false,
 * reason }` rather than throwing, so readers can skip and count it.
 */
export function parseUtkFaceName(file: string): ParseResult<UtkFaceLabel> {
  const base = file.split(/[\\/]/).pop() ?? file;
  const tooOld = (age: number): ParseResult<UtkFaceLabel> => ({ ok: false, reason: `bad UTKFace file name "${base}": age ${age} is over 120` });
  const m = UTK_RE.exec(base);
  if (m) {
    const age = Number(m[1]);
    if (age > 120) return tooOld(age);
    return { ok: true, value: { file: base, age, gender: Number(m[2]) as 0 | 1, race: Number(m[3]) as 0 | 1 | 2 | 3 | 4, datetime: m[4]! } };
  }
  const t = UTK_TYPO_RE.exec(base);
  if (t) {
    const age = Number(t[1]);
    if (age > 120) return tooOld(age);
    const repaired = 'the extension is malformed (a stray space or a missing dot); all four fields are present';
    return { ok: true, value: { file: base, age, gender: Number(t[2]) as 0 | 1, race: Number(t[3]) as 0 | 1 | 2 | 3 | 4, datetime: t[4]!, repaired } };
  }
  const three = UTK_3_RE.exec(base);
  if (three) {
    const age = Number(three[1]);
    if (age > 120) return tooOld(age);
    const repaired = 'only 3 fields: the age (always first) is kept; whether the second field is gender or race cannot be told, so both are unknown';
    return { ok: true, value: { file: base, age, gender: null, race: null, datetime: three[3]!, repaired } };
  }
  const parts = base.split('_');
  const why =
    parts.length !== 4
      ? `expected 4 underscore-separated fields age_gender_race_datetime, found ${parts.length}`
      : 'fields must be age (0-120), gender (0/1), race (0-4) and a numeric datetime, ending .jpg.chip.jpg';
  return { ok: false, reason: `bad UTKFace file name "${base}": ${why}` };
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

/**
 * Lists a UTKFace folder (flat, e.g. `crop_part1/` or `UTKFace/`). Every entry that is not a dotfile
 * is a candidate, sorted by name; `limit` takes the first K of those. Malformed names are skipped with
 * their reason. Entries are not opened here: a folder or a dangling symlink with an image-like name is
 * reported when the image is read.
 */
export function listUtkFace(dir: string, options: ListOptions = {}): DatasetListing {
  const root = resolve(dir);
  const set = options.groups ?? FFHQ_AGING_GROUPS;
  const names = readDirOrThrow(root)
    .filter((n) => !n.startsWith('.'))
    .sort(byCodePoint);
  const chosen = options.limit === undefined ? names : names.slice(0, options.limit);
  const items: SourceItem[] = [];
  const skipped: SkippedFile[] = [];
  for (const name of chosen) {
    const r = parseUtkFaceName(name);
    if (!r.ok) {
      skipped.push({ file: name, kind: 'bad-name', reason: r.reason });
      continue;
    }
    items.push({
      file: name,
      path: join(root, name),
      age: r.value.age,
      group: ageToGroup(r.value.age, set),
      split: splitOf(name, options.testFraction),
    });
  }
  return { format: 'utkface', root, groups: set, items, skipped, priorShape: 'utkface-crop', considered: chosen.length };
}

/** Code-point order: the same on every machine and locale (localeCompare is not). */
export const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function readDirOrThrow(root: string): string[] {
  let st;
  try {
    st = statSync(root);
  } catch (e) {
    throw new DatasetError(root, `cannot open the data folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); check the --data path`, {
      cause: e,
    });
  }
  if (!st.isDirectory()) throw new DatasetError(root, 'is not a folder; --data must name the folder that holds the images');
  try {
    return readdirSync(root);
  } catch (e) {
    throw new DatasetError(root, `cannot list the data folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
}
