import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ageToGroup, ConfigError, DatasetError, FFHQ_AGING_GROUPS } from '@ragan/core';
import { decodeRgb } from '../images/decode.js';
import { ellipticalPrior } from '../masks/prior.js';
import { parseUtkFaceName } from '../readers/utkface.js';
import { splitOf } from '../split.js';
import { BROKEN_FILES, copyFaceChips, pickFaceChips, tempDir, UNREADABLE_FILES, writeBrokenFiles, writeUnreadableFiles } from '../testing/fixtures.js';
import { readCacheIndex } from './format.js';
import { prepareCache, type PrepareOptions } from './prepare.js';
import { openCache } from './reader.js';

const S = 32;
const tmp = tempDir();
const data = join(tmp.dir, 'utk');
const good = await pickFaceChips(50);
const base = (out: string): PrepareOptions => ({ data, format: 'utkface', size: S, out: join(tmp.dir, out), shardRecords: 8 });

beforeAll(async () => {
  mkdirSync(data);
  await copyFaceChips(data, good);
  await writeBrokenFiles(data);
  writeUnreadableFiles(data);
  writeFileSync(join(data, '.DS_Store'), 'junk'); // dotfiles are not data
});
afterAll(() => tmp.cleanup());

async function records(dir: string) {
  const reader = await openCache(dir);
  try {
    const out: Array<{ sample: unknown; bytes: string }> = [];
    for (let i = 0; i < reader.index.samples.length; i++) {
      const { shard: _s, record: _r, ...sample } = reader.index.samples[i]!;
      const r = await reader.read(i);
      out.push({ sample, bytes: createHash('sha256').update(r.image).update(r.mask).digest('hex') });
    }
    return out;
  } finally {
    await reader.close();
  }
}

describe('prepareCache on UTKFace with broken files', () => {
  it('keeps the 50 good files and skips each bad one with its kind and a reason naming it', async () => {
    const r = await prepareCache(base('full'));
    expect(r.status).toBe('complete');
    expect(r.kept).toBe(50);
    expect(r.skipped).toBe(8);
    expect(r.total).toBe(58);
    expect(r.bySkipKind).toEqual({ 'bad-name': 1, empty: 1, corrupt: 1, 'not-an-image': 2, 'too-large': 1, unreadable: 2 });
    expect(r.byMask).toEqual({ parsing: 0, landmarks: 0, segmentation: 0, prior: 50 });
    expect(r.notes.join('\n')).toMatch(/50 of 50 are the elliptical prior: no landmark mask provider is available yet/);

    const report = JSON.parse(readFileSync(r.skippedPath, 'utf8')) as { count: number; skipped: Array<{ file: string; kind: string; reason: string }> };
    expect(report.count).toBe(8);
    const expected: Record<string, string> = { ...BROKEN_FILES, ...UNREADABLE_FILES };
    expect(Object.fromEntries(report.skipped.map((s) => [s.file, s.kind]))).toEqual(expected);
    for (const s of report.skipped) {
      expect(s.reason).toContain(s.file);
      expect(s.reason).not.toMatch(/\n/);
    }
    const reason = Object.fromEntries(report.skipped.map((s) => [s.file, s.reason]));
    expect(reason['30_0_0_20990101000000001.jpg.chip.jpg']).toMatch(/empty \(0 bytes\)/);
    expect(reason['30_0_0_20990101000000002.jpg.chip.jpg']).toMatch(/truncated or damaged/);
    expect(reason['30_0_0_20990101000000006.jpg.chip.jpg']).toMatch(/60000×60000/);
    expect(reason['31_1_1_20990101000000007.jpg.chip.jpg']).toMatch(/is a folder/);
    expect(reason['31_1_1_20990101000000008.jpg.chip.jpg']).toMatch(/dangling symlink/);
    expect(reason['thirty_0_0_20990101000000005.jpg.chip.jpg']).toMatch(/bad UTKFace file name/);
  });

  it('writes an index with labels, split, mask source and the source sha256, and records that match the decoded images', async () => {
    const dir = join(tmp.dir, 'full');
    const idx = await readCacheIndex(dir);
    expect(idx.complete).toBe(true);
    expect(idx.record).toEqual({ size: S, imageBytes: S * S * 3, maskBytes: S * S, bytes: S * S * 4, layout: 'rgb8-hwc+mask8-hw' });
    expect(idx.samples.map((s) => s.file)).toEqual([...good].sort());
    expect(idx.shards.length).toBe(Math.ceil(50 / 8));
    const prior = ellipticalPrior(S, 'utkface-crop');
    const reader = await openCache(dir);
    try {
      for (const [i, s] of idx.samples.entries()) {
        const bytes = readFileSync(join(data, s.file));
        const age = (parseUtkFaceName(s.file) as { ok: true; value: { age: number } }).value.age;
        expect(s).toMatchObject({ age, group: ageToGroup(age, FFHQ_AGING_GROUPS), split: splitOf(s.file), mask: 'prior' });
        expect(s.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
        if (i % 10 === 0) {
          const rec = await reader.read(i);
          expect(Buffer.from(rec.image).equals(Buffer.from((await decodeRgb(bytes, S)).data))).toBe(true);
          expect(Buffer.from(rec.mask).equals(Buffer.from(prior))).toBe(true);
        }
      }
    } finally {
      await reader.close();
    }
    for (const sh of idx.shards)
      expect(
        createHash('sha256')
          .update(readFileSync(join(dir, sh.file)))
          .digest('hex'),
      ).toBe(sh.sha256);
    expect(idx.counts.train + idx.counts.test).toBe(50);
    expect(idx.counts.byGroup.reduce((a, b) => a + b, 0)).toBe(50);

    const preview = await sharp(join(dir, 'preview.png')).metadata();
    expect(preview.format).toBe('png');
    expect(preview.width).toBeGreaterThan(8 * S);
    expect(preview.height).toBeGreaterThan(2 * S);
  });

  it('an interrupted run resumes and ends with exactly the cache of an uninterrupted run', async () => {
    const ac = new AbortController();
    const opts = base('resume');
    const first = await prepareCache({ ...opts, signal: ac.signal, onProgress: (p) => p.processed === 20 && ac.abort() });
    expect(first.status).toBe('interrupted');
    const partial = await readCacheIndex(opts.out);
    expect(partial.complete).toBe(false);
    expect(partial.processed).toBeGreaterThanOrEqual(20);
    expect(partial.processed).toBeLessThan(51);
    expect(existsSync(join(opts.out, 'preview.png'))).toBe(false);
    // what a crash leaves: a shard written after the last index update, a temp file
    writeFileSync(join(opts.out, 'shard-00042.bin'), 'orphan');
    writeFileSync(join(opts.out, 'index.json.tmp-999'), '{');

    let resumedFrom = -1;
    const second = await prepareCache({ ...opts, onStart: (s) => (resumedFrom = s.resumedFrom) });
    expect(second.status).toBe('complete');
    expect(resumedFrom).toBe(partial.processed);
    expect(second.resumedFrom).toBe(partial.processed);
    expect([second.kept, second.skipped]).toEqual([50, 8]);
    expect(readdirSync(opts.out).filter((n) => n.includes('tmp') || n === 'shard-00042.bin')).toEqual([]);
    expect(await records(opts.out)).toEqual(await records(join(tmp.dir, 'full')));
  });

  it('refuses other arguments on an existing cache with a clear message; --overwrite starts again; the same arguments are a no-op', async () => {
    const opts = base('full');
    const again = await prepareCache(opts);
    expect(again.status).toBe('already-complete');
    expect(again.kept).toBe(50);

    const err = await prepareCache({ ...opts, size: 16, limit: 40 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as Error).message).toMatch(/holds a finished cache made with different arguments \(--size was 32, now 16; --limit was none, now 40\)/);
    expect((err as Error).message).toMatch(/--overwrite/);

    const over = await prepareCache({ ...opts, out: join(tmp.dir, 'resume'), size: 16, limit: 10, overwrite: true });
    expect(over.status).toBe('complete');
    const idx = await readCacheIndex(join(tmp.dir, 'resume'));
    expect(idx.record.size).toBe(16);
    expect(idx.samples.length + idx.skipped.length).toBe(10);
  });

  it('refuses an --out folder with other files in it, and bad options by name', async () => {
    const out = join(tmp.dir, 'foreign');
    mkdirSync(out);
    writeFileSync(join(out, 'thesis.tex'), '');
    await expect(prepareCache({ ...base('x'), out })).rejects.toThrow(/is not empty and is not a cache \(it holds thesis.tex\)/);
    await expect(prepareCache({ ...base('x'), size: 4 })).rejects.toThrow(ConfigError);
    await expect(prepareCache({ ...base('x'), size: 4 })).rejects.toThrow(/^size: must be an integer from 8 to 1024/);
    await expect(prepareCache({ ...base('x'), masks: 'landmarks' })).rejects.toThrow(/masks: no landmark mask provider/);
    await expect(prepareCache({ ...base('x'), data: join(tmp.dir, 'nope') })).rejects.toThrow(/cannot open the data folder \(ENOENT\)/);
  });

  it('a plug-in landmark provider gets the image at source resolution; where it fails the prior is used and counted', async () => {
    const sizes = new Set<string>();
    const failOn = good[3]!;
    const r = await prepareCache({
      ...base('plugin'),
      preview: false,
      maskPlugins: {
        landmarks: async (image, meta) => {
          sizes.add(`${image.width}x${image.height}`);
          if (meta.file === failOn) throw new Error('no face found by the landmark detector');
          return { mask: new Uint8Array(image.width * image.height).fill(200), source: 'landmarks' };
        },
      },
    });
    expect([...sizes]).toEqual(['200x200']);
    expect(r.byMask).toMatchObject({ landmarks: 49, prior: 1 });
    expect(r.maskFallbacks).toBe(1);
    expect(r.maskChain).toEqual(['landmarks', 'prior']);
    expect(r.notes.join('\n')).toMatch(/1 fell back to the elliptical prior because landmarks failed/);
    const idx = await readCacheIndex(join(tmp.dir, 'plugin'));
    expect(idx.samples.find((s) => s.file === failOn)).toMatchObject({ mask: 'prior', maskFallback: 'landmarks: no face found by the landmark detector' });
    const reader = await openCache(join(tmp.dir, 'plugin'));
    const rec = await reader.read(0);
    await reader.close();
    expect(new Set(rec.mask)).toEqual(new Set([200]));
  });

  it('--limit takes the first K entries in sorted order, bad ones included', async () => {
    const r = await prepareCache({ ...base('limit'), limit: 5, preview: false });
    const idx = await readCacheIndex(join(tmp.dir, 'limit'));
    const firstFive = readdirSync(data)
      .filter((n) => !n.startsWith('.'))
      .sort()
      .slice(0, 5);
    expect([...idx.samples.map((s) => s.file), ...idx.skipped.map((s) => s.file)].sort()).toEqual(firstFive);
    expect(r.kept + r.skipped).toBe(5);
    expect(r.previewPath).toBeUndefined();
  });
});

describe('prepareCache: images too small to train on', () => {
  it('skips images under 32 px on the shorter side (a 1×1, a 200×20 strip) with the size in the reason; 32×40 is kept', async () => {
    const dir = join(tmp.dir, 'small-utk');
    mkdirSync(dir);
    await copyFaceChips(dir, good.slice(0, 2));
    const flat = (width: number, height: number) =>
      sharp({ create: { width, height, channels: 3, background: { r: 200, g: 120, b: 90 } } })
        .png()
        .toBuffer();
    writeFileSync(join(dir, '40_1_0_20990101000000101.jpg.chip.jpg'), await flat(1, 1));
    writeFileSync(join(dir, '40_1_0_20990101000000102.jpg.chip.jpg'), await flat(200, 20));
    writeFileSync(join(dir, '40_1_0_20990101000000103.jpg.chip.jpg'), await flat(32, 40));
    const r = await prepareCache({ data: dir, format: 'utkface', size: 64, out: join(tmp.dir, 'small-out'), masks: 'prior', preview: false });
    expect(r.kept).toBe(3);
    expect(r.bySkipKind).toEqual({ 'too-small': 2 });
    const report = JSON.parse(readFileSync(r.skippedPath, 'utf8')) as { skipped: Array<{ file: string; kind: string; reason: string }> };
    const reason = Object.fromEntries(report.skipped.map((s) => [s.file, s.reason]));
    expect(reason['40_1_0_20990101000000101.jpg.chip.jpg']).toMatch(
      /^40_1_0_20990101000000101\.jpg\.chip\.jpg: is 1×1 pixels, under the 32-pixel minimum on the shorter side/,
    );
    expect(reason['40_1_0_20990101000000102.jpg.chip.jpg']).toMatch(/is 200×20 pixels, under the 32-pixel minimum/);
    // the index validates with the new kind; a lower minimum keeps the strip
    expect((await readCacheIndex(join(tmp.dir, 'small-out'))).counts.bySkipKind).toEqual({ 'too-small': 2 });
    const low = await prepareCache({ data: dir, format: 'utkface', size: 64, out: join(tmp.dir, 'small-out-16'), masks: 'prior', preview: false, minSide: 16 });
    expect(low.kept).toBe(4);
    expect(low.bySkipKind).toEqual({ 'too-small': 1 });
  });
});

describe('prepareCache: an index.json that is not ours', () => {
  it('is never replaced, not even with overwrite; a damaged cache index still is', async () => {
    const dir = join(tmp.dir, 'own-utk');
    mkdirSync(dir);
    await copyFaceChips(dir, good.slice(0, 2));
    const out = join(tmp.dir, 'users-folder');
    mkdirSync(out);
    const mine = '{ "pages": ["intro.md", "setup.md"] }\n';
    writeFileSync(join(out, 'index.json'), mine);
    const opts: PrepareOptions = { data: dir, format: 'utkface', size: 32, out, masks: 'prior', preview: false };
    for (const overwrite of [false, true]) {
      const err = await prepareCache({ ...opts, overwrite }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DatasetError);
      expect((err as Error).message).toMatch(
        /users-folder\/index\.json: is not a cache index \(no "format": "ragan-data-cache"\); it is not ours to replace: move it away or choose another --out/,
      );
      expect(readFileSync(join(out, 'index.json'), 'utf8')).toBe(mine);
    }
    // a cache whose index was damaged: --overwrite is the way out, and works
    const cache = join(tmp.dir, 'damaged-cache');
    await prepareCache({ ...opts, out: cache });
    writeFileSync(join(cache, 'index.json'), readFileSync(join(cache, 'index.json'), 'utf8').slice(0, 300));
    await expect(prepareCache({ ...opts, out: cache })).rejects.toThrow(/--overwrite/);
    expect((await prepareCache({ ...opts, out: cache, overwrite: true })).status).toBe('complete');
  });
});
