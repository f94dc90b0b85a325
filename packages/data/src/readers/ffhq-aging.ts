import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { DatasetError, FFHQ_AGING_GROUPS } from '@ragan/core';
import { csvRecords, CsvSyntaxError, parseCsv } from '../csv.js';
import type { DatasetListing, ListOptions, SkippedFile, SourceItem } from './types.js';

export const FFHQ_AGING_LABELS_FILE = 'ffhq_aging_labels.csv';

/** FFHQ-Aging's official split [ours, from LATS]: image_number < 69000 is train, the rest test. */
export const FFHQ_AGING_TRAIN_SPLIT = 69000;

export const FFHQ_AGING_COLUMNS = [
  'image_number',
  'age_group',
  'age_group_confidence',
  'gender',
  'gender_confidence',
  'head_pitch',
  'head_roll',
  'head_yaw',
  'left_eye_occluded',
  'right_eye_occluded',
  'glasses',
] as const;

// The CSV spells the open group "70-120"; our group sets call it "70+".
const AGE_GROUP_ALIASES: Record<string, string> = { '70-120': '70+' };

// messages leave out the field: the reported issue path names it
const num = () =>
  z
    .string()
    .trim()
    .min(1, 'is empty')
    .transform((s, ctx) => {
      const v = Number(s);
      if (!Number.isFinite(v)) {
        ctx.addIssue({ code: 'custom', message: `"${s}" is not a number` });
        return z.NEVER;
      }
      return v;
    });

export const ffhqAgingRowSchema = z.object({
  image_number: z
    .string()
    .trim()
    .regex(/^\d{1,6}$/, 'must be a non-negative integer')
    .transform(Number),
  age_group: z
    .string()
    .trim()
    .transform((s) => AGE_GROUP_ALIASES[s] ?? s)
    .refine((s) => FFHQ_AGING_GROUPS.groups.some((g) => g.label === s), {
      message: `must be one of ${FFHQ_AGING_GROUPS.groups.map((g) => g.label).join(', ')} (or 70-120)`,
    }),
  age_group_confidence: num(),
  gender: z.string().trim(),
  gender_confidence: num(),
  head_pitch: num(),
  head_roll: num(),
  head_yaw: num(),
  left_eye_occluded: num(),
  right_eye_occluded: num(),
  glasses: z.string().trim(),
});
export type FfhqAgingRow = z.output<typeof ffhqAgingRowSchema>;

/**
 * The pruning rules [ours, LATS `create_dataset.py`]: keep age confidence > 0.6 and gender confidence
 * > 0.66; no dark glasses; and where pose is known (not every pose/eye attribute -1), |pitch| < 30,
 * |yaw| < 40 and the eyes not both heavily occluded (one eye may be < 90 % occluded if the other is
 * < 50 %). LATS meant the same "unknown attributes pass" branch but compares the glasses string to the
 * number -1, so there it never fires; we follow the spec's wording. Returns the failed conditions
 * (empty = keep).
 */
export function ffhqAgingPruneReasons(r: FfhqAgingRow): string[] {
  const why: string[] = [];
  if (!(r.age_group_confidence > 0.6)) why.push(`age confidence ${r.age_group_confidence} ≤ 0.6`);
  if (!(r.gender_confidence > 0.66)) why.push(`gender confidence ${r.gender_confidence} ≤ 0.66`);
  if (r.glasses.toLowerCase() === 'dark') why.push('dark glasses');
  const poseKnown = ![r.head_pitch, r.head_roll, r.head_yaw, r.left_eye_occluded, r.right_eye_occluded].every((v) => v === -1);
  if (poseKnown) {
    if (!(Math.abs(r.head_pitch) < 30)) why.push(`|pitch| ${Math.abs(r.head_pitch)} ≥ 30`);
    if (!(Math.abs(r.head_yaw) < 40)) why.push(`|yaw| ${Math.abs(r.head_yaw)} ≥ 40`);
    const L = r.left_eye_occluded;
    const R = r.right_eye_occluded;
    if (!((L < 90 && R < 50) || (L < 50 && R < 90))) why.push(`both eyes occluded (left ${L}, right ${R})`);
  }
  return why;
}

const pad5 = (n: number) => String(n).padStart(5, '0');

/** Where an FFHQ-Aging image lives: `NN000/NNNNN.png` (thousand-folders). */
export function ffhqAgingImagePath(root: string, imageNumber: number): string {
  return join(root, pad5(imageNumber - (imageNumber % 1000)), `${pad5(imageNumber)}.png`);
}

/**
 * The parsing map of an image. FFHQ-Aging's download script puts it in `NN000/parsings/NNNNN.png`
 * beside the image; a top-level `parsings/NN000/NNNNN.png` or `parsings/NNNNN.png` is accepted too.
 */
export function findFfhqAgingParsing(root: string, imageNumber: number): string | undefined {
  const thousand = pad5(imageNumber - (imageNumber % 1000));
  const name = `${pad5(imageNumber)}.png`;
  for (const p of [join(root, thousand, 'parsings', name), join(root, 'parsings', thousand, name), join(root, 'parsings', name)]) {
    if (existsSync(p)) return p;
  }
  return undefined;
}

/**
 * Lists an FFHQ-Aging folder: `ffhq_aging_labels.csv` (in the folder or its parent, where the
 * download script leaves it), images in thousand-folders, parsing maps. Rows are sorted by
 * image_number and `limit` takes the first K; malformed rows, rows the pruning rules drop and groups
 * outside the chosen set are skipped with their reason. The split is the official one (< 69000 train).
 */
export function listFfhqAging(dir: string, options: ListOptions = {}): DatasetListing {
  const root = resolve(dir);
  const set = options.groups ?? FFHQ_AGING_GROUPS;
  try {
    if (!statSync(root).isDirectory())
      throw new DatasetError(root, 'is not a folder; --data must name the FFHQ-Aging image folder (with the NN000/ thousand-folders)');
  } catch (e) {
    if (e instanceof DatasetError) throw e;
    throw new DatasetError(root, `cannot open the data folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); check the --data path`, {
      cause: e,
    });
  }
  const csvPath = [join(root, FFHQ_AGING_LABELS_FILE), join(dirname(root), FFHQ_AGING_LABELS_FILE)].find((p) => existsSync(p));
  if (!csvPath) throw new DatasetError(root, `no ${FFHQ_AGING_LABELS_FILE} in this folder or its parent; it comes with the FFHQ-Aging download`);
  let rows;
  try {
    rows = parseCsv(readFileSync(csvPath, 'utf8'));
  } catch (e) {
    const why = e instanceof CsvSyntaxError ? e.message : `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
    throw new DatasetError(csvPath, why, { cause: e });
  }
  const { header, records } = csvRecords(rows);
  const missing = FFHQ_AGING_COLUMNS.filter((c) => !header.includes(c));
  if (missing.length) throw new DatasetError(csvPath, `missing column(s) ${missing.join(', ')}; expected the header ${FFHQ_AGING_COLUMNS.join(',')}`);

  const csvName = relative(root, csvPath).split('\\').join('/');
  const skipped: SkippedFile[] = [];
  const valid: FfhqAgingRow[] = [];
  const seen = new Set<number>();
  for (const rec of records) {
    const parsed = ffhqAgingRowSchema.safeParse(rec.values);
    const where = `${csvName}:${rec.line}`;
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const label = rec.values.image_number ? `image ${rec.values.image_number}` : 'a row';
      skipped.push({ file: where, kind: 'bad-label', reason: `${where}: ${label}: ${issue.path.join('.') || 'row'}: ${issue.message}` });
      continue;
    }
    if (seen.has(parsed.data.image_number)) {
      skipped.push({ file: where, kind: 'bad-label', reason: `${where}: image ${parsed.data.image_number} is listed twice; the first row is used` });
      continue;
    }
    seen.add(parsed.data.image_number);
    valid.push(parsed.data);
  }
  valid.sort((a, b) => a.image_number - b.image_number);
  const chosen = options.limit === undefined ? valid : valid.slice(0, options.limit);

  const items: SourceItem[] = [];
  for (const r of chosen) {
    const path = ffhqAgingImagePath(root, r.image_number);
    const file = relative(root, path).split('\\').join('/');
    const why = ffhqAgingPruneReasons(r);
    if (why.length) {
      skipped.push({ file, kind: 'pruned', reason: `${file}: pruned by the FFHQ-Aging selection rules: ${why.join('; ')}` });
      continue;
    }
    const group = set.groups.findIndex((g) => g.label === r.age_group);
    if (group < 0) {
      skipped.push({ file, kind: 'pruned', reason: `${file}: age group ${r.age_group} is not in ${set.name} (${set.groups.map((g) => g.label).join(', ')})` });
      continue;
    }
    const parsingPath = findFfhqAgingParsing(root, r.image_number);
    items.push({
      file,
      path,
      age: null,
      group,
      split: r.image_number < FFHQ_AGING_TRAIN_SPLIT ? 'train' : 'test',
      ...(parsingPath ? { parsingPath } : {}),
    });
  }
  return {
    format: 'ffhq-aging',
    root,
    groups: set,
    items,
    skipped,
    priorShape: 'ffhq-aligned',
    considered: items.length + skipped.length,
  };
}
