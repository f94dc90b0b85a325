import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FFHQ_AGING_GROUPS } from '@ragan/core';
import { labelUtkFaceNames, listUtkFace, parseUtkFaceName } from './utkface.js';
import { NO_UTKFACE, utkFaceRoot } from '../testing/utkface.js';
import { splitOf } from '../split.js';

describe('UTKFace names', () => {
  it('parses labels from a well-formed name', () => {
    const r = parseUtkFaceName('26_1_2_20170116174525125.jpg.chip.jpg');
    expect(r).toEqual({ ok: true, value: { file: '26_1_2_20170116174525125.jpg.chip.jpg', age: 26, gender: 1, race: 2, datetime: '20170116174525125' } });
  });

  it('keeps the 5 malformed names of the full set whose age is certain, with what is uncertain unknown', () => {
    const typo = parseUtkFaceName('24_0_1_20170116220224657 .jpg.chip.jpg');
    expect(typo.ok && typo.value).toMatchObject({ age: 24, gender: 0, race: 1, datetime: '20170116220224657' });
    expect(typo.ok && typo.value.repaired).toContain('stray space');
    const noDot = parseUtkFaceName('55_0_0_20170116232725357jpg.chip.jpg');
    expect(noDot.ok && noDot.value).toMatchObject({ age: 55, gender: 0, race: 0 });
    for (const [name, age] of [
      ['61_1_20170109142408075.jpg.chip.jpg', 61],
      ['61_3_20170109150557335.jpg.chip.jpg', 61],
      ['39_1_20170116174525125.jpg.chip.jpg', 39],
    ] as const) {
      const r = parseUtkFaceName(name);
      expect(r.ok && r.value, name).toMatchObject({ age, gender: null, race: null });
      expect(r.ok && r.value.repaired, name).toContain('only 3 fields');
    }
  });

  it('refuses names with a missing age, out-of-range codes or another suffix, with a reason', () => {
    for (const bad of [
      '1_20170109142408075.jpg.chip.jpg',
      '130_1_20170109142408075.jpg.chip.jpg',
      '26_2_2_20170116174525125.jpg.chip.jpg',
      '26_1_9_20170116174525125.jpg.chip.jpg',
      '26_1_2_20170116174525125.jpg',
      'notes.txt',
      '200_1_2_20170116174525125.jpg.chip.jpg',
    ]) {
      const r = parseUtkFaceName(bad);
      expect(r.ok, bad).toBe(false);
      if (!r.ok) expect(r.reason).toContain(bad);
    }
  });

  it.skipIf(NO_UTKFACE)('labels the real crop_part1 folder: 9,780 files, its 2 malformed names kept for their certain age', () => {
    const files = readdirSync(join(utkFaceRoot(), 'crop_part1'));
    const { kept, skipped } = labelUtkFaceNames(files);
    expect(files.length).toBe(9780);
    expect(skipped).toEqual([]);
    expect(kept.length).toBe(9780);
    // every group of FFHQ-Aging's 10 is populated, and binning agrees with the group ranges
    const counts = new Array(FFHQ_AGING_GROUPS.groups.length).fill(0);
    for (const k of kept) {
      counts[k.group]++;
      const g = FFHQ_AGING_GROUPS.groups[k.group]!;
      expect(k.age >= g.min && k.age <= g.max).toBe(true);
    }
    expect(counts.every((c) => c > 0)).toBe(true);
    // the hash split is stable and near the requested fraction
    const test = kept.filter((k) => splitOf(k.file) === 'test').length;
    expect(test / kept.length).toBeGreaterThan(0.08);
    expect(test / kept.length).toBeLessThan(0.12);
    expect(splitOf('26_1_2_20170116174525125.jpg.chip.jpg')).toBe(splitOf('some/dir/26_1_2_20170116174525125.jpg.chip.jpg'));
  });
});

describe.skipIf(NO_UTKFACE)('listUtkFace on the real UTKFace', () => {
  it('lists the real folder in name order with labels and split; --limit takes the first K names', () => {
    const dir = join(utkFaceRoot(), 'crop_part1');
    const all = listUtkFace(dir);
    expect(all.items.length + all.skipped.length).toBe(9780);
    expect(all.skipped).toEqual([]);
    expect(all.items.map((i) => i.file)).toEqual([...all.items.map((i) => i.file)].sort());
    const first = all.items[0]!;
    expect(first).toMatchObject({ path: join(dir, first.file), split: splitOf(first.file), age: 100, group: 9 });
    const some = listUtkFace(dir, { limit: 300 });
    expect(some.considered).toBe(300);
    expect(some.items.map((i) => i.file)).toEqual(all.items.slice(0, 300).map((i) => i.file));
    expect(() => listUtkFace(join(dir, first.file))).toThrow(/is not a folder/);
  });

  it('lists the whole set: 23,707 files, all kept, and every crop_part1 face in the split it had', () => {
    const full = listUtkFace(join(utkFaceRoot(), 'UTKFace'));
    expect(full.items.length).toBe(23707);
    expect(full.skipped).toEqual([]);
    const split = new Map(full.items.map((i) => [i.file, i.split]));
    const part = listUtkFace(join(utkFaceRoot(), 'crop_part1'));
    let shared = 0;
    for (const i of part.items) {
      if (!split.has(i.file)) continue;
      shared++;
      expect(split.get(i.file), i.file).toBe(i.split);
    }
    expect(shared).toBeGreaterThan(9700);
  });
});
