import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { DatasetError } from '@ragan/core';
import { INDEX_FILE, readCacheIndex, type CacheIndex } from './format.js';

/** One cached sample's bytes: `image` S·S·3 RGB (HWC), `mask` S·S. Views into `record`. */
export interface CacheRecord {
  image: Uint8Array;
  mask: Uint8Array;
}

/**
 * Random access to a cache's records through one file handle per shard (positional reads: no
 * shard is loaded whole, so a 256² cache of 70k faces does not need 18 GB of memory). Call
 * `close()` when done.
 */
export interface CacheReader {
  readonly dir: string;
  readonly index: CacheIndex;
  /** Reads sample `i` (an index into `index.samples`) into `into` (a fresh buffer if omitted). */
  read(i: number, into?: Uint8Array): Promise<CacheRecord>;
  close(): Promise<void>;
}

/**
 * Every sample must name a shard of the index and a record inside it; otherwise the index is damaged,
 * and the sample would fail only when drawn (hours into training). DatasetError naming index.json.
 */
function checkRecords(dir: string, index: CacheIndex): void {
  const n = index.shards.length;
  index.samples.forEach((s, i) => {
    const shard = index.shards[s.shard];
    const where = `sample ${i} (${s.file})`;
    if (!shard)
      throw new DatasetError(
        join(dir, INDEX_FILE),
        `${where} is in shard ${s.shard}, but the cache has ${n} shard${n === 1 ? '' : 's'}${n ? ` (0-${n - 1})` : ''}; ${DAMAGED}`,
      );
    if (s.record >= shard.records)
      throw new DatasetError(join(dir, INDEX_FILE), `${where} is record ${s.record} of ${shard.file}, which holds ${shard.records} records; ${DAMAGED}`);
  });
}

const DAMAGED = 'the cache is damaged, rerun ragan prepare with --overwrite';

export interface CacheCheck {
  shards: number;
  /** Bytes hashed. */
  bytes: number;
}

/**
 * Checks a cache against its index before a long job uses it: the index validates, every sample's shard
 * and record exist, and every shard file has the size and SHA-256 the index records (streamed, a few
 * MiB at a time). Throws a DatasetError naming the file and the problem.
 */
export async function verifyCache(dir: string, options: { index?: CacheIndex } = {}): Promise<CacheCheck> {
  const index = options.index ?? (await readCacheIndex(dir));
  const reader = await openCache(dir, { index }); // sizes and records
  await reader.close();
  let bytes = 0;
  for (const s of index.shards) {
    const path = join(dir, s.file);
    const hash = createHash('sha256');
    try {
      for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20 })) hash.update(chunk as Buffer);
    } catch (e) {
      throw new DatasetError(path, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); ${DAMAGED}`, { cause: e });
    }
    const digest = hash.digest('hex');
    if (digest !== s.sha256) throw new DatasetError(path, `sha256 mismatch: the index says ${s.sha256}, the file hashes to ${digest}; ${DAMAGED}`);
    bytes += s.bytes;
  }
  return { shards: index.shards.length, bytes };
}

export async function openCache(dir: string, options: { index?: CacheIndex; allowIncomplete?: boolean } = {}): Promise<CacheReader> {
  const index = options.index ?? (await readCacheIndex(dir));
  if (!index.complete && !options.allowIncomplete) {
    throw new DatasetError(
      join(dir, 'index.json'),
      `the cache is unfinished (${index.processed} of ${index.listing.items} files processed); rerun the same \`ragan prepare\` command to finish it`,
    );
  }
  checkRecords(dir, index);
  const rec = index.record.bytes;
  const handles: FileHandle[] = [];
  try {
    for (const s of index.shards) {
      const path = join(dir, s.file);
      const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
        throw new DatasetError(path, `cache shard is missing (${e.code ?? e.message}); rerun ragan prepare with --overwrite`, { cause: e });
      });
      if (st.size !== s.bytes || s.bytes !== s.records * rec) {
        throw new DatasetError(path, `cache shard is ${st.size} bytes, the index says ${s.bytes}; the cache is damaged, rerun ragan prepare with --overwrite`);
      }
      handles.push(await open(path, 'r'));
    }
  } catch (e) {
    await Promise.all(handles.map((h) => h.close()));
    throw e;
  }
  const { imageBytes } = index.record;
  let closed = false;
  return {
    dir,
    index,
    async read(i, into) {
      if (closed) throw new DatasetError(dir, 'the cache reader is closed');
      const s = index.samples[i];
      if (!s) throw new RangeError(`sample ${i} is out of range (0..${index.samples.length - 1})`);
      const buf = into ?? new Uint8Array(rec);
      const { bytesRead } = await handles[s.shard]!.read(buf, 0, rec, s.record * rec);
      if (bytesRead !== rec) throw new DatasetError(join(dir, index.shards[s.shard]!.file), `short read of record ${s.record} (${bytesRead} of ${rec} bytes)`);
      return { image: buf.subarray(0, imageBytes), mask: buf.subarray(imageBytes, rec) };
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(handles.map((h) => h.close()));
    },
  };
}
