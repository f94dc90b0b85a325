import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { DatasetError } from '@ragan/core';
import { MASK_SOURCES } from '../masks/types.js';

/** The cache layout (docs/dataset-format.md). Bump the version on any incompatible change. */
export const CACHE_FORMAT = 'ragan-data-cache';
export const CACHE_FORMAT_VERSION = 1;
export const INDEX_FILE = 'index.json';
export const SKIPPED_FILE = 'skipped.json';
export const PREVIEW_FILE = 'preview.png';
/** Record layout: S·S·3 bytes of RGB (row-major, HWC) followed by S·S bytes of mask. */
export const RECORD_LAYOUT = 'rgb8-hwc+mask8-hw';

export const shardFileName = (i: number): string => `shard-${String(i).padStart(5, '0')}.bin`;
export const SHARD_FILE_RE = /^shard-\d{5}\.bin$/;

/** Bytes of one record at side `size`. */
export const recordBytes = (size: number): number => size * size * 4;

const skipKind = z.enum([
  'bad-name',
  'bad-label',
  'pruned',
  'missing',
  'unreadable',
  'outside',
  'empty',
  'too-large',
  'too-small',
  'not-an-image',
  'corrupt',
  'bad-mask',
]);
const maskSource = z.enum(MASK_SOURCES as [string, ...string[]]);

export const cacheIndexSchema = z.object({
  format: z.literal(CACHE_FORMAT),
  formatVersion: z.literal(CACHE_FORMAT_VERSION),
  createdBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  complete: z.boolean(),
  args: z.object({
    format: z.enum(['utkface', 'ffhq-aging', 'csv']),
    data: z.string(),
    size: z.number().int().positive(),
    groups: z.string(),
    masks: z.enum(['auto', 'landmarks', 'prior']),
    maskChain: z.array(z.string()),
    limit: z.number().int().positive().nullable(),
    testFraction: z.number(),
    maxPixels: z.number().int().positive(),
  }),
  listing: z.object({ sha256: z.string(), items: z.number().int().nonnegative(), skipped: z.number().int().nonnegative() }),
  groups: z.object({ name: z.string(), labels: z.array(z.string()) }),
  record: z.object({
    size: z.number().int().positive(),
    imageBytes: z.number().int().positive(),
    maskBytes: z.number().int().positive(),
    bytes: z.number().int().positive(),
    layout: z.literal(RECORD_LAYOUT),
  }),
  processed: z.number().int().nonnegative(),
  shards: z.array(
    z.object({ file: z.string().regex(SHARD_FILE_RE), records: z.number().int().positive(), bytes: z.number().int().positive(), sha256: z.string() }),
  ),
  samples: z.array(
    z.object({
      file: z.string(),
      sha256: z.string(),
      age: z.number().nullable(),
      group: z.number().int().nonnegative(),
      split: z.enum(['train', 'test']),
      mask: maskSource,
      maskFallback: z.string().optional(),
      shard: z.number().int().nonnegative(),
      record: z.number().int().nonnegative(),
    }),
  ),
  skipped: z.array(z.object({ file: z.string(), kind: skipKind, reason: z.string() })),
  counts: z.object({
    kept: z.number().int().nonnegative(),
    skipped: z.number().int().nonnegative(),
    train: z.number().int().nonnegative(),
    test: z.number().int().nonnegative(),
    byGroup: z.array(z.number().int().nonnegative()),
    byMask: z.record(z.string(), z.number().int().nonnegative()),
    bySkipKind: z.record(z.string(), z.number().int().nonnegative()),
    maskFallbacks: z.number().int().nonnegative(),
  }),
});

export type CacheIndex = z.infer<typeof cacheIndexSchema>;
export type CacheArgs = CacheIndex['args'];
export type CacheSample = CacheIndex['samples'][number];
export type CacheShard = CacheIndex['shards'][number];

/** Reads and validates `DIR/index.json`. DatasetError naming the file and the bad field otherwise. */
export async function readCacheIndex(dir: string): Promise<CacheIndex> {
  const path = join(dir, INDEX_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DatasetError(
      path,
      code === 'ENOENT' ? 'no cache index here; make one with `ragan prepare --out DIR`' : `cannot be read (${code ?? (e as Error).message})`,
      { cause: e },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DatasetError(path, `is not valid JSON (${(e as Error).message}); the cache is damaged, rerun ragan prepare with --overwrite`, { cause: e });
  }
  const version = (json as { formatVersion?: unknown })?.formatVersion;
  if ((json as { format?: unknown })?.format === CACHE_FORMAT && version !== CACHE_FORMAT_VERSION) {
    throw new DatasetError(
      path,
      `cache format version ${String(version)} is not supported (this is @ragan/data for version ${CACHE_FORMAT_VERSION}); rerun ragan prepare with ` +
        `--overwrite`,
    );
  }
  const parsed = cacheIndexSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new DatasetError(path, `is not a valid cache index: ${issue.path.join('.') || 'root'}: ${issue.message}`);
  }
  return parsed.data;
}
