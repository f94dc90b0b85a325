import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError } from '@ragan/core';
import { readCacheIndex } from '../cache/format.js';
import { prepareCache } from '../cache/prepare.js';
import { openCache } from '../cache/reader.js';
import { copyFaceChips, faceChipsDir, pickFaceChips, tempDir } from '../testing/fixtures.js';
import { listCsvManifest } from './csv-manifest.js';

const tmp = tempDir();
const root = join(tmp.dir, 'mine');
const faces = await pickFaceChips(6);
const MANIFEST = [
  'path,age,group,mask,split,notes',
  `images/${faces[0]},34,,,,a comment column is ignored`,
  `images/${faces[1]},,50-69,masks/b.png,,`,
  `images/${faces[2]},25,30-39,,,age and group disagree`,
  '../escape.jpg,30,,,,',
  '/etc/hostname,30,,,,',
  'images/link.jpg,40,,,,',
  `images/${faces[3]},abc,,,,`,
  `images/${faces[4]},,,,,`,
  `images/${faces[0]},35,,,,duplicate`,
  `images/${faces[5]},61,,,test,`,
  `images/${faces[1]},50,,../outside-mask.png,,`,
].join('\n');

beforeAll(async () => {
  mkdirSync(join(root, 'images'), { recursive: true });
  mkdirSync(join(root, 'masks'));
  await copyFaceChips(join(root, 'images'), faces);
  // a mask file: left half face region
  const m = Buffer.alloc(64 * 64);
  for (let i = 0; i < m.length; i++) m[i] = i % 64 < 32 ? 255 : 0;
  writeFileSync(
    join(root, 'masks', 'b.png'),
    await sharp(m, { raw: { width: 64, height: 64, channels: 1 } })
      .png()
      .toBuffer(),
  );
  // a symlink inside the folder that points outside it
  symlinkSync(join(await faceChipsDir(), faces[0]!), join(root, 'images', 'link.jpg'));
  writeFileSync(join(root, 'manifest.csv'), MANIFEST);
});
afterAll(() => tmp.cleanup());

describe('CSV manifest', () => {
  it('reads path, age or group, optional mask and split; skips bad rows with file:line and the reason', () => {
    const l = listCsvManifest(root);
    expect(l.format).toBe('csv');
    const items = Object.fromEntries(l.items.map((i) => [i.file, i]));
    expect(Object.keys(items).sort()).toEqual([`images/${faces[0]}`, `images/${faces[1]}`, `images/${faces[5]}`, 'images/link.jpg'].sort());
    expect(items[`images/${faces[0]}`]).toMatchObject({ age: 34, group: 6 });
    expect(items[`images/${faces[1]}`]).toMatchObject({ age: null, group: 8, maskPath: join(root, 'masks', 'b.png') });
    expect(items[`images/${faces[5]}`]!.split).toBe('test');
    const reasons = l.skipped.map((s) => `${s.kind}: ${s.reason}`);
    const has = (re: RegExp) =>
      expect(
        reasons.some((r) => re.test(r)),
        `${re} in\n${reasons.join('\n')}`,
      ).toBe(true);
    has(/^bad-label: manifest\.csv:4: .*group: age 25 falls in group 20-29, not 30-39/);
    has(/^outside: manifest\.csv:5: path "\.\.\/escape\.jpg" leaves the manifest's folder/);
    has(/^outside: manifest\.csv:6: path "\/etc\/hostname" leaves the manifest's folder/);
    has(/^bad-label: manifest\.csv:8: .*age: must be a number of years/);
    has(/^bad-label: manifest\.csv:9: .*row: neither age nor group is given/);
    has(/^bad-label: manifest\.csv:10: .* is listed twice; the first row is used/);
    has(/^outside: manifest\.csv:12: mask "\.\.\/outside-mask\.png" leaves the manifest's folder/);
    expect(l.skipped).toHaveLength(7);
  });

  it('takes the manifest file itself as --data too; a manifest without path or labels is a DatasetError', () => {
    expect(listCsvManifest(join(root, 'manifest.csv')).items).toHaveLength(4);
    const bad = join(tmp.dir, 'bad.csv');
    writeFileSync(bad, 'file,age\nx.jpg,3\n');
    expect(() => listCsvManifest(bad)).toThrow(DatasetError);
    expect(() => listCsvManifest(bad)).toThrow(/bad.csv: no "path" column/);
    writeFileSync(bad, 'path,gender\nx.jpg,1\n');
    expect(() => listCsvManifest(bad)).toThrow(/needs an "age" or a "group" column/);
  });

  it('prepare: a symlink out of the folder is refused at read time; the mask file is used (source segmentation)', async () => {
    const out = join(tmp.dir, 'cache');
    const r = await prepareCache({ data: join(root, 'manifest.csv'), format: 'csv', size: 16, out });
    expect(r.kept).toBe(3);
    expect(r.byMask).toMatchObject({ segmentation: 1, prior: 2 });
    const idx = await readCacheIndex(out);
    expect(idx.skipped.find((s) => s.file === 'images/link.jpg')).toMatchObject({
      kind: 'outside',
      reason: expect.stringMatching(/resolves \(through a symlink\) to .* outside the manifest's folder/),
    });
    const i = idx.samples.findIndex((s) => s.mask === 'segmentation');
    const reader = await openCache(out);
    try {
      const rec = await reader.read(i);
      expect(rec.mask[0]).toBe(255);
      expect(rec.mask[15]).toBe(0);
    } finally {
      await reader.close();
    }
  });
});
