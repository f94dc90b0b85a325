import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError } from '@ragan/core';
import { copyFaceChips, pickFaceChips, tempDir } from '../testing/fixtures.js';
import type { CacheIndex } from './format.js';
import { prepareCache } from './prepare.js';
import { openCache, verifyCache } from './reader.js';

const tmp = tempDir();
const cache = join(tmp.dir, 'cache');
/** A copy of the cache to damage. */
let n = 0;
const copy = () => {
  const dir = join(tmp.dir, `copy-${n++}`);
  cpSync(cache, dir, { recursive: true });
  return dir;
};
const editIndex = (dir: string, edit: (idx: CacheIndex) => void) => {
  const idx = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as CacheIndex;
  edit(idx);
  writeFileSync(join(dir, 'index.json'), JSON.stringify(idx));
};

beforeAll(async () => {
  const data = join(tmp.dir, 'utk');
  mkdirSync(data);
  await copyFaceChips(data, await pickFaceChips(12));
  // 5 records per shard: 3 shards
  await prepareCache({ data, format: 'utkface', size: 16, out: cache, masks: 'prior', preview: false, shardRecords: 5 });
});
afterAll(() => tmp.cleanup());

describe('verifyCache', () => {
  it('passes an intact cache: every shard hashed', async () => {
    const r = await verifyCache(cache);
    expect(r.shards).toBe(3);
    expect(r.bytes).toBe(12 * 16 * 16 * 4);
  });

  it('a shard whose bytes changed (same size): sha256 mismatch naming the shard', async () => {
    const dir = copy();
    const shard = join(dir, 'shard-00001.bin');
    const bytes = readFileSync(shard);
    bytes[100] = bytes[100]! ^ 0xff;
    writeFileSync(shard, bytes);
    const err = await verifyCache(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as Error).message).toMatch(
      new RegExp(
        String.raw`^.*copy-\d\/shard-00001\.bin: sha256 mismatch: the index says [0-9a-f]{64}, the file hashes to [0-9a-f]{64}; the cache is damaged, ` +
          String.raw`rerun ragan prepare with --overwrite$`,
        '',
      ),
    );
  });

  it('a sample pointing past its shard, or at a shard that is not there: refused when the cache is opened, naming the sample', async () => {
    const dir = copy();
    editIndex(dir, (idx) => (idx.samples[7]!.record = 999999));
    const file = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')).samples[7].file as string;
    await expect(openCache(dir)).rejects.toThrow(
      new RegExp(
        `index\\.json: sample 7 \\(${file.replace(/\./g, '\\.')}\\) is record 999999 of shard-0000\\d\\.bin, which holds 5 records; the cache is damaged, ` +
          `rerun ragan prepare with --overwrite`,
      ),
    );
    await expect(verifyCache(dir)).rejects.toThrow(/sample 7 .* is record 999999/);
    const other = copy();
    editIndex(other, (idx) => (idx.samples[0]!.shard = 3));
    await expect(openCache(other)).rejects.toThrow(/index\.json: sample 0 \(.*\) is in shard 3, but the cache has 3 shards \(0-2\)/);
  });
});
