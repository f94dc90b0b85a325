import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { ageToGroup, DatasetError, FFHQ_AGING_GROUPS, type AgeGroupSet } from '@ragan/core';
import { csvRecords, CsvSyntaxError, parseCsv } from '../csv.js';
import { isInside } from '../paths.js';
import { splitOf } from '../split.js';
import { byCodePoint } from './utkface.js';
import type { DatasetListing, ListOptions, SkippedFile, SourceItem } from './types.js';

/** The file `--data DIR` looks for when DIR is a folder. */
export const MANIFEST_FILE = 'manifest.csv';

const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((s) => (s === '' ? undefined : s));

function manifestRowSchema(set: AgeGroupSet) {
  return z
    .object({
      path: z.string().trim().min(1, 'is empty'),
      age: optionalText.pipe(
        z
          .string()
          .regex(/^\d+(\.\d+)?$/, 'must be a number of years ≥ 0, e.g. 34')
          .transform(Number)
          .refine((a) => a <= 130, 'must be at most 130')
          .optional(),
      ),
      group: optionalText.pipe(
        z
          .string()
          .transform((g, ctx) => {
            const byLabel = set.groups.findIndex((x) => x.label === g);
            if (byLabel >= 0) return byLabel;
            if (/^\d+$/.test(g) && Number(g) < set.groups.length) return Number(g);
            ctx.addIssue({ code: 'custom', message: `"${g}" is not a label or index of ${set.name} (${set.groups.map((x) => x.label).join(', ')})` });
            return z.NEVER;
          })
          .optional(),
      ),
      mask: optionalText,
      split: optionalText.pipe(z.enum(['train', 'test']).optional()),
    })
    .superRefine((r, ctx) => {
      if (r.age === undefined && r.group === undefined) ctx.addIssue({ code: 'custom', message: 'neither age nor group is given' });
      if (r.age !== undefined && r.group !== undefined && ageToGroup(r.age, set) !== r.group) {
        ctx.addIssue({
          code: 'custom',
          path: ['group'],
          message: `age ${r.age} falls in group ${set.groups[ageToGroup(r.age, set)]!.label}, not ${set.groups[r.group]!.label}`,
        });
      }
    });
}

/**
 * Lists a CSV manifest for your own (aligned) faces. Header row required; columns `path` and at
 * least one of `age` / `group`; optional `mask` and `split` (see docs/dataset-format.md). Paths are
 * relative to the manifest's folder and may not leave it. `dir` is the manifest file or a folder
 * holding `manifest.csv`. Rows are sorted by path and `limit` takes the first K; a bad row is
 * skipped with `manifest.csv:LINE` and its reason.
 */
export function listCsvManifest(dirOrFile: string, options: ListOptions = {}): DatasetListing {
  const given = resolve(dirOrFile);
  const set = options.groups ?? FFHQ_AGING_GROUPS;
  let manifest = given;
  try {
    if (statSync(given).isDirectory()) manifest = join(given, MANIFEST_FILE);
  } catch (e) {
    throw new DatasetError(
      given,
      `cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); --data must name a manifest .csv or a folder holding ${MANIFEST_FILE}`,
      { cause: e },
    );
  }
  const root = dirname(manifest);
  let text: string;
  try {
    text = readFileSync(manifest, 'utf8');
  } catch (e) {
    throw new DatasetError(manifest, `cannot read the manifest (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
  let rows;
  try {
    rows = parseCsv(text);
  } catch (e) {
    throw new DatasetError(manifest, e instanceof CsvSyntaxError ? e.message : String(e), { cause: e });
  }
  const { header, records } = csvRecords(rows);
  if (!header.includes('path'))
    throw new DatasetError(manifest, `no "path" column; the first row must be a header such as path,age,mask (found: ${header.join(',') || 'nothing'})`);
  if (!header.includes('age') && !header.includes('group')) throw new DatasetError(manifest, 'needs an "age" or a "group" column');

  const schema = manifestRowSchema(set);
  const name = basename(manifest);
  const skipped: SkippedFile[] = [];
  const rowsOk: Array<{ line: number; file: string; path: string; age: number | null; group: number; split?: 'train' | 'test'; maskPath?: string }> = [];
  for (const rec of records) {
    const where = `${name}:${rec.line}`;
    const parsed = schema.safeParse(rec.values);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      skipped.push({
        file: rec.values.path || where,
        kind: 'bad-label',
        reason: `${where}: ${rec.values.path ? `${rec.values.path}: ` : ''}${issue.path.join('.') || 'row'}: ${issue.message}`,
      });
      continue;
    }
    const r = parsed.data;
    const path = resolve(root, r.path);
    if (!isInside(root, path)) {
      skipped.push({
        file: r.path,
        kind: 'outside',
        reason: `${where}: path "${r.path}" leaves the manifest's folder ${root}; paths must be relative and stay inside it`,
      });
      continue;
    }
    let maskPath: string | undefined;
    if (r.mask !== undefined) {
      maskPath = resolve(root, r.mask);
      if (!isInside(root, maskPath)) {
        skipped.push({
          file: r.path,
          kind: 'outside',
          reason: `${where}: mask "${r.mask}" leaves the manifest's folder ${root}; paths must be relative and stay inside it`,
        });
        continue;
      }
    }
    const file = relative(root, path).split(sep).join('/');
    const group = r.group ?? ageToGroup(r.age!, set);
    rowsOk.push({ line: rec.line, file, path, age: r.age ?? null, group, ...(r.split ? { split: r.split } : {}), ...(maskPath ? { maskPath } : {}) });
  }
  rowsOk.sort((a, b) => byCodePoint(a.file, b.file) || a.line - b.line);
  const items: SourceItem[] = [];
  let taken = 0;
  let last: string | undefined;
  for (const r of rowsOk) {
    if (options.limit !== undefined && taken >= options.limit) break;
    taken++;
    if (r.file === last) {
      skipped.push({ file: r.file, kind: 'bad-label', reason: `${name}:${r.line}: ${r.file} is listed twice; the first row is used` });
      continue;
    }
    last = r.file;
    items.push({
      file: r.file,
      path: r.path,
      age: r.age,
      group: r.group,
      split: r.split ?? splitOf(r.file, options.testFraction),
      confineTo: root,
      ...(r.maskPath ? { maskPath: r.maskPath } : {}),
    });
  }
  return { format: 'csv', root, groups: set, items, skipped, priorShape: 'ffhq-aligned', considered: items.length + skipped.length };
}
