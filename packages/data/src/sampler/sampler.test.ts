import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, DatasetError } from '@ragan/core';
import { readCacheIndex, type CacheIndex } from '../cache/format.js';
import { prepareCache } from '../cache/prepare.js';
import { openCache } from '../cache/reader.js';
import { copyFaceChips, pickFaceChips, tempDir } from '../testing/fixtures.js';
import { createSampler, type SamplerBatch } from './sampler.js';

const S = 16;
const N = 40;
const tmp = tempDir();
const cache = join(tmp.dir, 'cache');
let index: CacheIndex;

beforeAll(async () => {
  await tf.setBackend('cpu');
  const data = join(tmp.dir, 'utk');
  mkdirSync(data);
  await copyFaceChips(data, await pickFaceChips(N));
  await prepareCache({ data, format: 'utkface', size: S, out: cache, shardRecords: 8, preview: false });
  index = await readCacheIndex(cache);
});
afterAll(() => tmp.cleanup());

const take = async (b: SamplerBatch) => {
  const out = { samples: b.samples, flipped: b.flipped, groups: b.groups, ages: b.ages, images: await b.images.data(), masks: await b.masks.data() };
  b.dispose();
  return out;
};

describe('createSampler', () => {
  it('gives [B,S,S,3] images in [-1,1] and [B,S,S,1] masks in [0,1] with groups and ages; the caller disposes them', async () => {
    const before = tf.memory().numTensors;
    const sampler = await createSampler(cache, { batch: 4, split: 'all', seed: 1 });
    expect([sampler.size, sampler.imageSize, sampler.batchesPerEpoch]).toEqual([N, S, 10]);
    const b = await sampler.next();
    expect(b.images.shape).toEqual([4, S, S, 3]);
    expect(b.masks.shape).toEqual([4, S, S, 1]);
    expect(b.images.dtype).toBe('float32');
    const img = await b.images.data();
    const msk = await b.masks.data();
    expect(Math.min(...img)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...img)).toBeLessThanOrEqual(1);
    expect(Math.min(...msk)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...msk)).toBe(1);
    expect(b.groups).toEqual(b.samples.map((i) => index.samples[i]!.group));
    expect(b.ages).toEqual(b.samples.map((i) => index.samples[i]!.age));
    // pixels are the cached bytes, scaled
    const reader = await openCache(cache);
    const rec = await reader.read(b.samples[0]!);
    await reader.close();
    expect(img[5]).toBeCloseTo(rec.image[5]! / 127.5 - 1, 6);
    expect(msk[7]).toBeCloseTo(rec.mask[7]! / 255, 6);
    b.dispose();
    for (let i = 0; i < 5; i++) (await sampler.next()).dispose();
    await sampler.close();
    await sampler.close();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('an epoch visits every sample once in a seeded order; the same seed repeats it, another seed does not', async () => {
    const epoch = async (seed: number) => {
      const s = await createSampler(cache, { batch: 8, split: 'all', seed, prefetch: 0 });
      const e1: number[] = [];
      const e2: number[] = [];
      for (let i = 0; i < 5; i++) e1.push(...(await take(await s.next())).samples);
      for (let i = 0; i < 5; i++) e2.push(...(await take(await s.next())).samples);
      await s.close();
      return [e1, e2] as const;
    };
    const [a1, a2] = await epoch(3);
    expect([...a1].sort((x, y) => x - y)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect([...a2].sort((x, y) => x - y)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(a2).not.toEqual(a1);
    expect(await epoch(3)).toEqual([a1, a2]);
    expect((await epoch(4))[0]).not.toEqual(a1);
  });

  it('split train/test draws only that split', async () => {
    for (const split of ['train', 'test'] as const) {
      const s = await createSampler(cache, { batch: 2, split, seed: 0 });
      expect(s.size).toBe(index.counts[split]);
      const b = await take(await s.next());
      expect(b.samples.every((i) => index.samples[i]!.split === split)).toBe(true);
      await s.close();
    }
  });

  it('flip mirrors about half of the samples left-right', async () => {
    const s = await createSampler(cache, { batch: N, split: 'all', seed: 5, flip: true });
    const b = await take(await s.next());
    await s.close();
    const nFlipped = b.flipped.filter(Boolean).length;
    expect(nFlipped).toBeGreaterThan(N / 4);
    expect(nFlipped).toBeLessThan((3 * N) / 4);
    const k = b.flipped.indexOf(true);
    const reader = await openCache(cache);
    const rec = await reader.read(b.samples[k]!);
    await reader.close();
    const off = k * S * S * 3;
    for (const [y, x, c] of [
      [0, 0, 0],
      [3, 5, 1],
      [15, 2, 2],
    ] as const) {
      expect(b.images[off + (y * S + x) * 3 + c]).toBeCloseTo(rec.image[(y * S + (S - 1 - x)) * 3 + c]! / 127.5 - 1, 6);
    }
  });

  it('balanceGroups draws every present group about equally often', async () => {
    const counts = async (balanceGroups: boolean) => {
      const s = await createSampler(cache, { batch: 40, split: 'all', seed: 9, balanceGroups });
      const c = new Map<number, number>();
      // 6,000 draws: 10 groups' counts then vary by about 4 % (one σ), far inside the 1.3× allowed
      for (let i = 0; i < 150; i++) for (const g of (await take(await s.next())).groups) c.set(g, (c.get(g) ?? 0) + 1);
      await s.close();
      return [...c.values()];
    };
    const bal = await counts(true);
    const plain = await counts(false);
    expect(bal.length).toBe(plain.length);
    const spread = (xs: number[]) => Math.max(...xs) / Math.min(...xs);
    expect(spread(bal)).toBeLessThan(1.3);
    expect(spread(plain)).toBeGreaterThan(spread(bal));
  });

  it('resumes exactly from a JSON cursor (across an epoch boundary, with read-ahead)', async () => {
    const opts = { batch: 6, split: 'all' as const, seed: 11, flip: true, balanceGroups: true, prefetch: 3 };
    const a = await createSampler(cache, opts);
    const seen = [];
    let saved;
    for (let i = 0; i < 9; i++) {
      const b = await a.next();
      if (i === 3) {
        saved = JSON.parse(JSON.stringify(b.cursor));
        expect(a.cursor()).toEqual(b.cursor);
      }
      seen.push(await take(b));
    }
    await a.close();
    expect(saved).toMatchObject({ version: 1, epoch: 0, position: 24 });
    const b = await createSampler(cache, { ...opts, cursor: saved });
    for (let i = 4; i < 9; i++) expect(await take(await b.next())).toEqual(seen[i]);
    await b.close();

    await expect(createSampler(cache, { ...opts, seed: 12, cursor: saved })).rejects.toThrow(ConfigError);
    await expect(createSampler(cache, { ...opts, seed: 12, cursor: saved })).rejects.toThrow(/cursor: belongs to another stream/);
    await expect(createSampler(cache, { ...opts, cursor: { ...saved!, rng: [1, 2] } })).rejects.toThrow(/cursor: is not a sampler cursor/);
  });

  it('refuses an unfinished cache and bad options', async () => {
    const data = join(tmp.dir, 'utk');
    const partial = join(tmp.dir, 'partial');
    const ac = new AbortController();
    await prepareCache({
      data,
      format: 'utkface',
      size: S,
      out: partial,
      shardRecords: 4,
      signal: ac.signal,
      onProgress: (p) => p.processed === 10 && ac.abort(),
    });
    await expect(createSampler(partial, { batch: 2 })).rejects.toThrow(DatasetError);
    await expect(createSampler(partial, { batch: 2 })).rejects.toThrow(
      /the cache is unfinished \(\d+ of 40 files processed\); rerun the same `ragan prepare` command/,
    );
    await expect(createSampler(cache, { batch: 0 })).rejects.toThrow(/^batch: must be a positive integer/);
    await expect(createSampler(join(tmp.dir, 'none'), { batch: 2 })).rejects.toThrow(/no cache index here/);
  });
});
