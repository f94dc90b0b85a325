import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError, LATS_GROUPS } from '@ragan/core';
import { readCacheIndex } from '../cache/format.js';
import { prepareCache, sampleAge } from '../cache/prepare.js';
import { openCache } from '../cache/reader.js';
import { loadParsingMask } from '../masks/parsing.js';
import { faceChipsDir, pickFaceChips, tempDir } from '../testing/fixtures.js';
import { FFHQ_AGING_COLUMNS, ffhqAgingImagePath, listFfhqAging } from './ffhq-aging.js';

/**
 * A small FFHQ-Aging tree in the download script's layout, built from real UTKFace faces:
 *   FFHQ-Aging-Dataset/ffhq_aging_labels.csv
 *   FFHQ-Aging-Dataset/ffhq_aging256x256/00000/00000.png, .../00000/parsings/00000.png, ...
 * with one parsing map under a top-level parsings/69000/ instead, as some copies have.
 */
const tmp = tempDir();
const top = join(tmp.dir, 'FFHQ-Aging-Dataset');
const root = join(top, 'ffhq_aging256x256');

type Row = Record<(typeof FFHQ_AGING_COLUMNS)[number], string | number>;
const row = (n: number, age: string, over: Partial<Row> = {}): Row => ({
  image_number: n,
  age_group: age,
  age_group_confidence: 0.9,
  gender: 'female',
  gender_confidence: 0.95,
  head_pitch: 5,
  head_roll: 1,
  head_yaw: -10,
  left_eye_occluded: 3,
  right_eye_occluded: 4,
  glasses: 'None',
  ...over,
});

// image_number → [row, has image, parsing-map location]
const ROWS: Array<[Row, boolean, 'beside' | 'top' | 'none']> = [
  [row(0, '20-29'), true, 'beside'],
  [row(1, '0-2'), true, 'beside'],
  [row(2, '30-39', { age_group_confidence: 0.5 }), true, 'beside'],
  [row(3, '30-39', { gender_confidence: 0.6 }), true, 'beside'],
  [row(4, '30-39', { head_yaw: 45 }), true, 'beside'],
  [row(5, '30-39', { glasses: 'Dark' }), true, 'beside'],
  [row(6, '30-39', { left_eye_occluded: 95, right_eye_occluded: 60 }), true, 'beside'],
  [row(7, '40-49', { head_pitch: -1, head_roll: -1, head_yaw: -1, left_eye_occluded: -1, right_eye_occluded: -1, glasses: -1 }), true, 'beside'],
  [row(8, '50-69'), true, 'none'],
  [row(9, '30-39'), false, 'none'],
  [row(70, '10-14'), true, 'beside'],
  [row(1500, '70-120'), true, 'beside'],
  [row(69001, '50-69'), true, 'top'],
];

/** 200×200 label map: background, a hat block, hair on top, a skin ellipse, cloth at the bottom. */
function parsingMap(): Buffer {
  const L = Buffer.alloc(200 * 200);
  for (let y = 0; y < 200; y++) {
    for (let x = 0; x < 200; x++) {
      const e = ((x - 100) / 60) ** 2 + ((y - 105) / 75) ** 2;
      L[y * 200 + x] = y >= 180 ? 18 : e < 1 ? 1 : y < 50 && x > 40 && x < 160 ? 13 : x < 20 && y < 20 ? 14 : 0;
    }
  }
  return L;
}

beforeAll(async () => {
  mkdirSync(root, { recursive: true });
  const header = FFHQ_AGING_COLUMNS.join(',');
  const lines = ROWS.map(([r]) => FFHQ_AGING_COLUMNS.map((c) => r[c]).join(','));
  lines.push(FFHQ_AGING_COLUMNS.map((c) => row(69002, '25-30')[c]).join(',')); // not a group
  lines.push(FFHQ_AGING_COLUMNS.map((c) => row(0, '20-29')[c]).join(',')); // listed twice
  writeFileSync(join(top, 'ffhq_aging_labels.csv'), `${header}\n${lines.join('\n')}\n`);
  const faces = await pickFaceChips(ROWS.length);
  const chips = await faceChipsDir();
  const labels = await sharp(parsingMap(), { raw: { width: 200, height: 200, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toBuffer();
  for (const [k, [r, hasImage, parsing]] of ROWS.entries()) {
    const n = Number(r.image_number);
    const img = ffhqAgingImagePath(root, n);
    mkdirSync(dirname(img), { recursive: true });
    if (hasImage)
      writeFileSync(
        img,
        await sharp(readFileSync(join(chips, faces[k]!)))
          .png()
          .toBuffer(),
      );
    const name = `${String(n).padStart(5, '0')}.png`;
    const thousand = String(n - (n % 1000)).padStart(5, '0');
    const p = parsing === 'beside' ? join(dirname(img), 'parsings', name) : parsing === 'top' ? join(root, 'parsings', thousand, name) : undefined;
    if (p) {
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, labels);
    }
  }
});
afterAll(() => tmp.cleanup());

describe('FFHQ-Aging reader', () => {
  it('finds the CSV beside or above the image folder, applies the pruning rules and the official split', () => {
    const l = listFfhqAging(root);
    expect(l.items.map((i) => i.file)).toEqual([
      '00000/00000.png',
      '00000/00001.png',
      '00000/00007.png',
      '00000/00008.png',
      '00000/00009.png',
      '00000/00070.png',
      '01000/01500.png',
      '69000/69001.png',
    ]);
    expect(l.items.map((i) => i.split)).toEqual(['train', 'train', 'train', 'train', 'train', 'train', 'train', 'test']);
    expect(l.items.every((i) => i.age === null)).toBe(true);
    expect(l.items.find((i) => i.file === '01000/01500.png')!.group).toBe(9); // 70-120 → 70+
    expect(l.items.filter((i) => i.parsingPath).map((i) => i.file)).toEqual([
      '00000/00000.png',
      '00000/00001.png',
      '00000/00007.png',
      '00000/00070.png',
      '01000/01500.png',
      '69000/69001.png',
    ]);
    const why = Object.fromEntries(l.skipped.map((s) => [s.file, `${s.kind}: ${s.reason}`]));
    expect(why['00000/00002.png']).toMatch(/^pruned: .*age confidence 0.5 ≤ 0.6/);
    expect(why['00000/00003.png']).toMatch(/gender confidence 0.6 ≤ 0.66/);
    expect(why['00000/00004.png']).toMatch(/\|yaw\| 45 ≥ 40/);
    expect(why['00000/00005.png']).toMatch(/dark glasses/);
    expect(why['00000/00006.png']).toMatch(/both eyes occluded \(left 95, right 60\)/);
    const bad = l.skipped.filter((s) => s.kind === 'bad-label').map((s) => s.reason);
    expect(bad).toHaveLength(2);
    expect(bad[0]).toMatch(/^\.\.\/ffhq_aging_labels\.csv:15: image 69002: age_group: must be one of 0-2, 3-6/);
    expect(bad[1]).toMatch(/image 0 is listed twice/);
  });

  it('--limit takes the first K rows by image number; lats-6 leaves out the groups it does not have', () => {
    expect(listFfhqAging(root, { limit: 3 }).items.map((i) => i.file)).toEqual(['00000/00000.png', '00000/00001.png']);
    const lats = listFfhqAging(root, { groups: LATS_GROUPS });
    expect(lats.items.map((i) => i.file)).toEqual(['00000/00001.png', '00000/00008.png', '00000/00009.png', '69000/69001.png']);
    expect(lats.skipped.find((s) => s.file === '00000/00000.png')!.reason).toMatch(/age group 20-29 is not in lats-6/);
  });

  it('an unusable folder or CSV is a DatasetError naming it', () => {
    expect(() => listFfhqAging(join(tmp.dir, 'nope'))).toThrow(DatasetError);
    mkdirSync(join(tmp.dir, 'empty', 'x'), { recursive: true });
    expect(() => listFfhqAging(join(tmp.dir, 'empty', 'x'))).toThrow(/no ffhq_aging_labels.csv in this folder or its parent/);
    writeFileSync(join(tmp.dir, 'empty', 'ffhq_aging_labels.csv'), 'image_number,age_group\n1,0-2\n');
    expect(() => listFfhqAging(join(tmp.dir, 'empty', 'x'))).toThrow(/ffhq_aging_labels.csv: missing column\(s\) age_group_confidence, gender/);
  });

  it('prepare: masks from the parsing maps (face classes only), the prior where a map is missing; a missing image is skipped', async () => {
    const out = join(tmp.dir, 'cache');
    const r = await prepareCache({ data: root, format: 'ffhq-aging', size: 32, out });
    expect(r.status).toBe('complete');
    expect(r.kept).toBe(7);
    expect(r.byMask).toMatchObject({ parsing: 6, prior: 1 });
    expect(r.bySkipKind).toEqual({ pruned: 5, 'bad-label': 2, missing: 1 });
    expect(r.notes.join()).toMatch(/1 of 7 are the elliptical prior: those images have no parsing map/);
    const idx = await readCacheIndex(out);
    expect(idx.skipped.find((s) => s.kind === 'missing')!.reason).toBe('00000/00009.png: does not exist');
    const expected = await loadParsingMask(join(root, '00000', 'parsings', '00000.png'), 32);
    const reader = await openCache(out);
    try {
      const i = idx.samples.findIndex((s) => s.file === '00000/00000.png');
      const rec = await reader.read(i);
      expect(Buffer.from(rec.mask).equals(Buffer.from(expected.data))).toBe(true);
      // hat corner and cloth rows are background, the face centre and the hair are face region
      expect(rec.mask[0]).toBe(0);
      expect(rec.mask[31 * 32 + 16]).toBe(0);
      expect(rec.mask[16 * 32 + 16]).toBe(255);
      expect(rec.mask[3 * 32 + 16]).toBe(255);
    } finally {
      await reader.close();
    }
    // FFHQ-Aging has groups, not ages: the sampler's age is the group's centre
    const s = idx.samples.find((x) => x.file === '00000/00000.png')!;
    expect(s.age).toBeNull();
    expect(sampleAge(idx, s)).toBe(24.5);
    expect(idx.samples.find((x) => x.file === '69000/69001.png')!.split).toBe('test');
  });
});
