import { createHash } from 'node:crypto';
import { mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { ConfigError, DatasetError, getAgeGroupSet, groupCenter, RaganError } from '@ragan/core';
import { decodeRgb, DEFAULT_MAX_PIXELS, ImageFileError, probeImage, readImageFile, type RgbImage } from '../images/decode.js';
import { renderContactSheet, type ContactSheetRow } from '../images/preview.js';
import { checkMaskMode, maskChainSteps, resolveMask, type MaskPlugins } from '../masks/chain.js';
import { MASK_SOURCES, type MaskMode, type MaskSource } from '../masks/types.js';
import { toPosix } from '../paths.js';
import { listDataset } from '../readers/index.js';
import { DATASET_FORMATS, type DatasetFormat, type DatasetListing, type SkippedFile, type SkipKind, type SourceItem } from '../readers/types.js';
import { DATA_VERSION } from '../version.js';
import { writeFileAtomic } from './atomic.js';
import {
  CACHE_FORMAT,
  CACHE_FORMAT_VERSION,
  INDEX_FILE,
  PREVIEW_FILE,
  readCacheIndex,
  RECORD_LAYOUT,
  recordBytes,
  SHARD_FILE_RE,
  shardFileName,
  SKIPPED_FILE,
  type CacheArgs,
  type CacheIndex,
  type CacheSample,
} from './format.js';
import { openCache } from './reader.js';

export interface PrepareOptions {
  /** Data folder (for `csv`: the manifest file or its folder). */
  data: string;
  format: DatasetFormat;
  /** Cache folder; created if missing. */
  out: string;
  /** Side of the stored square images, 8-1024. */
  size: number;
  /** Only the first K entries in sorted order. */
  limit?: number;
  /** Age-group set name: `ffhq-aging-10` (default) or `lats-6`. */
  groups?: string;
  /** Default `auto`: parsing map, mask file, plug-in providers, then the elliptical prior. */
  masks?: MaskMode;
  /** Start again even if `out` holds a cache (only this module's files are removed). */
  overwrite?: boolean;
  /** Hash-split test fraction where the data set has no official split; default 0.1. */
  testFraction?: number;
  /** Pixel limit per image (decompression-bomb guard); default DEFAULT_MAX_PIXELS. */
  maxPixels?: number;
  /**
   * Images whose shorter side is under this many pixels are skipped (`too-small`): stretched to the
   * cache size they hold no face, only a blur or a flat colour. Default MIN_IMAGE_SIDE (32).
   */
  minSide?: number;
  /** Mask providers from outside this module (landmarks, segmentation). */
  maskPlugins?: MaskPlugins;
  /** Images decoded at once; default 3 (sharp decodes on libuv's thread pool). */
  concurrency?: number;
  /** Records per shard file; default ~32 MiB worth, 16-1024. Smaller = finer-grained resume. */
  shardRecords?: number;
  /** Write the contact sheet; default true. */
  preview?: boolean;
  /** Tiles per age group on the contact sheet; default 8. */
  previewPerGroup?: number;
  /** Abort to stop after the files in flight; what is done is saved and the run can be resumed. */
  signal?: AbortSignal;
  /** Called once the listing is known, before any image is read. */
  onStart?: (info: PrepareStart) => void;
  /** Called after every file. */
  onProgress?: (p: PrepareProgress) => void;
}

export interface PrepareStart {
  listing: DatasetListing;
  /** Items left to process in this run. */
  todo: number;
  /** Items already done by an earlier, interrupted run. */
  resumedFrom: number;
  maskChain: string[];
}

export interface PrepareProgress {
  /** Items of the listing processed so far (including earlier runs). */
  processed: number;
  total: number;
  kept: number;
  skipped: number;
}

export interface PrepareResult {
  status: 'complete' | 'interrupted' | 'already-complete';
  outDir: string;
  indexPath: string;
  skippedPath: string;
  previewPath: string | undefined;
  /** Entries considered (listing items + files skipped while listing). */
  total: number;
  kept: number;
  skipped: number;
  bySkipKind: Partial<Record<SkipKind, number>>;
  byMask: Record<MaskSource, number>;
  /** Samples whose plug-in mask provider failed, so that the prior was used. */
  maskFallbacks: number;
  train: number;
  test: number;
  shards: number;
  cacheBytes: number;
  /** Items done by earlier runs of the same command. */
  resumedFrom: number;
  maskChain: string[];
  elapsedMs: number;
  /** Listed files processed per second in this run's decode loop (listing, index and preview writing excluded). */
  imagesPerSecond: number;
  /** Lines worth telling the user (mask sources, fallbacks). */
  notes: string[];
}

/** Default smallest accepted shorter side of a source image, in pixels (`PrepareOptions.minSide`). */
export const MIN_IMAGE_SIDE = 32;

type ItemOutcome = { ok: true; sample: Omit<CacheSample, 'shard' | 'record'>; image: Uint8Array; mask: Uint8Array } | { ok: false; skip: SkippedFile };

/**
 * Builds a training cache from a data set: lists and labels the files, decodes each image to
 * size×size sRGB, makes its face mask, and writes fixed-size records into shard files with an
 * index (docs/dataset-format.md), a report of skipped files and a contact sheet. Resumable: shards
 * and the index are written atomically and the index records how far the run got; rerunning with
 * the same options continues, other options are refused unless `overwrite`.
 *
 * Bad files never stop the run: each is skipped with a reason that names it. Errors are thrown
 * only for bad options, an unusable data folder or output folder (ConfigError/DatasetError).
 */
export async function prepareCache(options: PrepareOptions): Promise<PrepareResult> {
  const t0 = performance.now();
  const o = resolveOptions(options);
  const set = getAgeGroupSet(o.groups);
  checkMaskMode(o.masks, o.maskPlugins);
  const maskChain = maskChainSteps(o.masks, o.maskPlugins, o.format);
  const listing = listDataset(o.format, o.data, {
    groups: set,
    ...(o.limit !== undefined ? { limit: o.limit } : {}),
    testFraction: o.testFraction,
  });
  const args: CacheArgs = {
    format: o.format,
    data: resolve(o.data),
    size: o.size,
    groups: set.name,
    masks: o.masks,
    maskChain,
    limit: o.limit ?? null,
    testFraction: o.testFraction,
    maxPixels: o.maxPixels,
  };
  const listingHash = hashListing(listing);
  const outDir = resolve(o.out);
  const indexPath = join(outDir, INDEX_FILE);
  const paths = { outDir, indexPath, skippedPath: join(outDir, SKIPPED_FILE), previewPath: join(outDir, PREVIEW_FILE) };
  await prepareOutDir(outDir, o.overwrite);

  let index = o.overwrite ? undefined : await existingIndex(outDir);
  if (index) {
    const diff = diffArgs(index.args, args);
    if (index.listing.sha256 !== listingHash && diff.length === 0) diff.push("the data folder's files or labels changed");
    if (diff.length) {
      throw new DatasetError(
        outDir,
        `holds a ${index.complete ? 'finished' : 'partial'} cache made with different arguments (${diff.join('; ')}); rerun with the original ` +
          `arguments${index.complete ? '' : ' to continue'}, choose another --out, or add --overwrite to start again`,
      );
    }
    if (index.complete) {
      if (o.preview && !(await exists(paths.previewPath))) await writePreview(outDir, index, o.previewPerGroup);
      return summarise(
        index,
        { ...paths, previewPath: (await exists(paths.previewPath)) ? paths.previewPath : undefined },
        'already-complete',
        0,
        performance.now() - t0,
        0,
        maskChain,
        o,
      );
    }
    await removeStrays(outDir, index);
  } else {
    await removeOwnFiles(outDir);
    index = freshIndex(
      args,
      listing,
      listingHash,
      set.groups.map((g) => g.label),
    );
    await writeIndex(indexPath, index);
  }

  const resumedFrom = index.processed;
  const items = listing.items;
  o.onStart?.({ listing, todo: items.length - resumedFrom, resumedFrom, maskChain });

  const S = o.size;
  const rec = recordBytes(S);
  const shardRecords = o.shardRecords ?? Math.min(1024, Math.max(16, Math.floor((32 * 1024 * 1024) / rec)));
  let shardBuf = Buffer.allocUnsafe(shardRecords * rec);
  let pendingRecords = 0;
  const pendingSamples: CacheSample[] = [];
  const pendingSkips: SkippedFile[] = [];
  let pendingProcessed = index.processed;
  let keptSoFar = index.samples.length;
  let skippedSoFar = index.skipped.length;
  const idx = index;

  const flush = async (final: boolean) => {
    if (pendingRecords > 0) {
      const file = shardFileName(idx.shards.length);
      const bytes = shardBuf.subarray(0, pendingRecords * rec);
      try {
        await writeFileAtomic(join(outDir, file), bytes);
      } catch (e) {
        throw new DatasetError(join(outDir, file), `cannot write the cache shard (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
      }
      idx.shards.push({ file, records: pendingRecords, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
      shardBuf = Buffer.allocUnsafe(shardRecords * rec);
      pendingRecords = 0;
    }
    idx.samples.push(...pendingSamples.splice(0));
    idx.skipped.push(...pendingSkips.splice(0));
    idx.processed = pendingProcessed;
    idx.complete = final;
    idx.counts = countIndex(idx);
    await writeIndex(indexPath, idx);
  };

  // A window of `concurrency` files in flight; results are committed strictly in listing order, so
  // the cache is identical whatever the timing, and "processed" is a simple prefix for resume.
  const inFlight = new Map<number, Promise<ItemOutcome>>();
  let launched = resumedFrom;
  const launch = () => {
    while (launched < items.length && inFlight.size < o.concurrency && !o.signal?.aborted) {
      const i = launched++;
      inFlight.set(i, processItem(items[i]!, listing, o));
    }
  };
  let interrupted = false;
  const tLoop = performance.now();
  for (let i = resumedFrom; i < items.length; i++) {
    launch();
    const p = inFlight.get(i);
    if (!p) {
      interrupted = true;
      break;
    }
    const outcome = await p;
    inFlight.delete(i);
    if (outcome.ok) {
      const nextShard = idx.shards.length;
      shardBuf.set(outcome.image, pendingRecords * rec);
      shardBuf.set(outcome.mask, pendingRecords * rec + S * S * 3);
      pendingSamples.push({ ...outcome.sample, shard: nextShard, record: pendingRecords });
      pendingRecords++;
      keptSoFar++;
    } else {
      pendingSkips.push(outcome.skip);
      skippedSoFar++;
    }
    pendingProcessed = i + 1;
    o.onProgress?.({ processed: i + 1, total: items.length, kept: keptSoFar, skipped: skippedSoFar });
    if (pendingRecords === shardRecords) await flush(false);
    if (o.signal?.aborted && inFlight.size === 0) {
      interrupted = i + 1 < items.length;
      break;
    }
  }
  // files still in flight after an abort are dropped (they were not committed); wait so nothing runs on
  await Promise.allSettled(inFlight.values());
  const processedThisRun = pendingProcessed - resumedFrom;
  const loopMs = performance.now() - tLoop;
  if (interrupted) {
    await flush(false);
    return summarise(
      idx,
      { ...paths, previewPath: undefined },
      'interrupted',
      resumedFrom,
      performance.now() - t0,
      processedThisRun / (loopMs / 1000),
      maskChain,
      o,
    );
  }

  // finished: the skip report and the preview first, the index's `complete` flag last
  await flush(false);
  const report = { data: args.data, format: args.format, count: idx.skipped.length, byKind: countKinds(idx.skipped), skipped: idx.skipped };
  await writeFileAtomic(paths.skippedPath, `${JSON.stringify(report, null, 2)}\n`);
  let previewPath: string | undefined;
  if (o.preview) previewPath = await writePreview(outDir, idx, o.previewPerGroup);
  idx.complete = true;
  idx.counts = countIndex(idx);
  await writeIndex(indexPath, idx);
  return summarise(idx, { ...paths, previewPath }, 'complete', resumedFrom, performance.now() - t0, processedThisRun / (loopMs / 1000), maskChain, o);
}

/** Reads, checks and prepares one file; every failure becomes a skip with a reason. */
async function processItem(item: SourceItem, listing: DatasetListing, o: ResolvedOptions): Promise<ItemOutcome> {
  try {
    const buf = await readImageFile(item.path, { name: item.file, ...(item.confineTo ? { confineTo: item.confineTo } : {}) });
    const sha256 = createHash('sha256').update(buf).digest('hex');
    const header = await probeImage(buf, { name: item.file, maxPixels: o.maxPixels });
    if (Math.min(header.width, header.height) < o.minSide) {
      throw new ImageFileError(
        item.file,
        'too-small',
        `is ${header.width}×${header.height} pixels, under the ${o.minSide}-pixel minimum on the shorter side: too small to hold a face to train on`,
      );
    }
    const image = await decodeRgb(buf, o.size, { name: item.file, maxPixels: o.maxPixels });
    let work: Promise<RgbImage> | undefined;
    // plug-in providers see a larger image than tiny caches store (landmarks need detail): up to 512 px
    const workImage = () =>
      (work ??= (async () => {
        const side = Math.min(512, header.width, header.height);
        return side <= o.size ? image : decodeRgb(buf, side, { name: item.file, maxPixels: o.maxPixels });
      })());
    const mask = await resolveMask(item, { mode: o.masks, size: o.size, prior: listing.priorShape, plugins: o.maskPlugins, maxPixels: o.maxPixels }, workImage);
    return {
      ok: true,
      sample: {
        file: item.file,
        sha256,
        age: item.age,
        group: item.group,
        split: item.split,
        mask: mask.source,
        ...(mask.fallback ? { maskFallback: mask.fallback } : {}),
      },
      image: image.data,
      mask: mask.mask,
    };
  } catch (e) {
    if (e instanceof ImageFileError) return { ok: false, skip: { file: item.file, kind: e.kind, reason: e.message } };
    // anything else (a bug, an exotic libvips failure) still only costs this one file
    const msg = RaganError.isInstance(e) ? e.message : `${item.file}: cannot be prepared (${String((e as Error)?.message ?? e).split('\n')[0]})`;
    return { ok: false, skip: { file: item.file, kind: 'corrupt', reason: msg } };
  }
}

interface ResolvedOptions {
  data: string;
  format: DatasetFormat;
  out: string;
  size: number;
  limit: number | undefined;
  groups: string;
  masks: MaskMode;
  overwrite: boolean;
  testFraction: number;
  maxPixels: number;
  minSide: number;
  maskPlugins: MaskPlugins;
  concurrency: number;
  shardRecords: number | undefined;
  preview: boolean;
  previewPerGroup: number;
  signal: AbortSignal | undefined;
  onStart: PrepareOptions['onStart'];
  onProgress: PrepareOptions['onProgress'];
}

const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

function resolveOptions(p: PrepareOptions): ResolvedOptions {
  if (typeof p.data !== 'string' || !p.data) throw new ConfigError('data', 'the data folder is required');
  if (typeof p.out !== 'string' || !p.out) throw new ConfigError('out', 'the output folder is required');
  if (!DATASET_FORMATS.includes(p.format)) throw new ConfigError('format', `unknown format "${String(p.format)}"; use one of ${DATASET_FORMATS.join(', ')}`);
  if (!isPosInt(p.size) || p.size < 8 || p.size > 1024) throw new ConfigError('size', `must be an integer from 8 to 1024, got ${String(p.size)}`);
  if (p.limit !== undefined && !isPosInt(p.limit)) throw new ConfigError('limit', `must be a positive integer, got ${String(p.limit)}`);
  const testFraction = p.testFraction ?? 0.1;
  if (!(testFraction >= 0 && testFraction <= 1)) throw new ConfigError('testFraction', `must be in [0, 1], got ${testFraction}`);
  const maxPixels = p.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (!isPosInt(maxPixels)) throw new ConfigError('maxPixels', `must be a positive integer, got ${String(maxPixels)}`);
  const minSide = p.minSide ?? MIN_IMAGE_SIDE;
  if (!isPosInt(minSide)) throw new ConfigError('minSide', `must be a positive integer, got ${String(minSide)}`);
  const concurrency = p.concurrency ?? Math.min(4, Math.max(2, availableParallelism() + 1));
  if (!isPosInt(concurrency)) throw new ConfigError('concurrency', `must be a positive integer, got ${String(concurrency)}`);
  if (p.shardRecords !== undefined && !isPosInt(p.shardRecords))
    throw new ConfigError('shardRecords', `must be a positive integer, got ${String(p.shardRecords)}`);
  const previewPerGroup = p.previewPerGroup ?? 8;
  if (!isPosInt(previewPerGroup)) throw new ConfigError('previewPerGroup', `must be a positive integer, got ${String(previewPerGroup)}`);
  return {
    data: p.data,
    format: p.format,
    out: p.out,
    size: p.size,
    limit: p.limit,
    groups: p.groups ?? 'ffhq-aging-10',
    masks: p.masks ?? 'auto',
    overwrite: p.overwrite ?? false,
    testFraction,
    maxPixels,
    minSide,
    maskPlugins: p.maskPlugins ?? {},
    concurrency,
    shardRecords: p.shardRecords,
    preview: p.preview ?? true,
    previewPerGroup,
    signal: p.signal,
    onStart: p.onStart,
    onProgress: p.onProgress,
  };
}

function hashListing(listing: DatasetListing): string {
  const rel = (p: string | undefined) => (p ? toPosix(relative(listing.root, p)) : null);
  const h = createHash('sha256');
  for (const it of listing.items) h.update(JSON.stringify([it.file, it.age, it.group, it.split, rel(it.parsingPath), rel(it.maskPath)])).update('\n');
  h.update('--skipped--\n');
  for (const s of listing.skipped) h.update(JSON.stringify([s.file, s.kind])).update('\n');
  return h.digest('hex');
}

const ARG_NAMES: Record<keyof CacheArgs, string> = {
  format: '--format',
  data: '--data',
  size: '--size',
  groups: '--groups',
  masks: '--masks',
  maskChain: 'mask providers',
  limit: '--limit',
  testFraction: 'test fraction',
  maxPixels: '--max-pixels',
};

function diffArgs(was: CacheArgs, now: CacheArgs): string[] {
  const out: string[] = [];
  for (const k of Object.keys(ARG_NAMES) as Array<keyof CacheArgs>) {
    const a = JSON.stringify(was[k]);
    const b = JSON.stringify(now[k]);
    if (a !== b) out.push(`${ARG_NAMES[k]} was ${fmtArg(was[k])}, now ${fmtArg(now[k])}`);
  }
  return out;
}

const fmtArg = (v: unknown) => (v === null ? 'none' : Array.isArray(v) ? v.join('>') : String(v));

function freshIndex(args: CacheArgs, listing: DatasetListing, listingHash: string, labels: string[]): CacheIndex {
  const now = new Date().toISOString();
  const S = args.size;
  const idx: CacheIndex = {
    format: CACHE_FORMAT,
    formatVersion: CACHE_FORMAT_VERSION,
    createdBy: `@ragan/data ${DATA_VERSION}`,
    createdAt: now,
    updatedAt: now,
    complete: false,
    args,
    listing: { sha256: listingHash, items: listing.items.length, skipped: listing.skipped.length },
    groups: { name: args.groups, labels },
    record: { size: S, imageBytes: S * S * 3, maskBytes: S * S, bytes: recordBytes(S), layout: RECORD_LAYOUT },
    processed: 0,
    shards: [],
    samples: [],
    skipped: [...listing.skipped],
    counts: { kept: 0, skipped: 0, train: 0, test: 0, byGroup: [], byMask: {}, bySkipKind: {}, maskFallbacks: 0 },
  };
  idx.counts = countIndex(idx);
  return idx;
}

function countKinds(skipped: SkippedFile[]): Partial<Record<SkipKind, number>> {
  const out: Partial<Record<SkipKind, number>> = {};
  for (const s of skipped) out[s.kind] = (out[s.kind] ?? 0) + 1;
  return out;
}

function countIndex(idx: CacheIndex): CacheIndex['counts'] {
  const byGroup = new Array<number>(idx.groups.labels.length).fill(0);
  const byMask: Record<string, number> = Object.fromEntries(MASK_SOURCES.map((m) => [m, 0]));
  let train = 0;
  let maskFallbacks = 0;
  for (const s of idx.samples) {
    byGroup[s.group] = (byGroup[s.group] ?? 0) + 1;
    byMask[s.mask] = (byMask[s.mask] ?? 0) + 1;
    if (s.split === 'train') train++;
    if (s.maskFallback) maskFallbacks++;
  }
  return {
    kept: idx.samples.length,
    skipped: idx.skipped.length,
    train,
    test: idx.samples.length - train,
    byGroup,
    byMask,
    bySkipKind: countKinds(idx.skipped) as Record<string, number>,
    maskFallbacks,
  };
}

async function writeIndex(path: string, idx: CacheIndex): Promise<void> {
  idx.updatedAt = new Date().toISOString();
  try {
    await writeFileAtomic(path, `${JSON.stringify(idx)}\n`);
  } catch (e) {
    throw new DatasetError(path, `cannot write the cache index (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

const isOwnFile = (name: string) =>
  SHARD_FILE_RE.test(name) ||
  name === INDEX_FILE ||
  name === SKIPPED_FILE ||
  name === PREVIEW_FILE ||
  /^(shard-\d{5}\.bin|index\.json|skipped\.json|preview\.png)\.tmp-\d+$/.test(name);

/** Creates `out`, refusing a folder that holds something other than a cache (we never delete foreign files). */
async function prepareOutDir(outDir: string, overwrite: boolean): Promise<void> {
  try {
    await mkdir(outDir, { recursive: true });
  } catch (e) {
    throw new DatasetError(outDir, `cannot create the output folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
  const st = await stat(outDir);
  if (!st.isDirectory()) throw new DatasetError(outDir, 'is not a folder; --out must name a folder for the cache');
  const foreign = (await readdir(outDir)).filter((n) => !isOwnFile(n));
  if (foreign.length && !overwrite) {
    throw new DatasetError(
      outDir,
      `is not empty and is not a cache (it holds ${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', ...' : ''}); choose an empty or new --out folder`,
    );
  }
  // An index.json is ours (and may be replaced, damaged or not) only if it says it is a cache index
  const indexPath = join(outDir, INDEX_FILE);
  const ist = await stat(indexPath).catch(() => undefined);
  if (ist && !(ist.isFile() && CACHE_MARK.test(await readHead(indexPath, 4096)))) {
    throw new DatasetError(indexPath, `is not a cache index (no "format": "${CACHE_FORMAT}"); it is not ours to replace: move it away or choose another --out`);
  }
}

/** Every index we write begins `{"format":"ragan-data-cache",`; a damaged one still says so near the start. */
const CACHE_MARK = new RegExp(`"format"\\s*:\\s*"${CACHE_FORMAT}"`);

async function readHead(path: string, bytes: number): Promise<string> {
  const h = await open(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await h.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await h.close();
  }
}

async function existingIndex(outDir: string): Promise<CacheIndex | undefined> {
  if (!(await exists(join(outDir, INDEX_FILE)))) return undefined;
  try {
    return await readCacheIndex(outDir);
  } catch (e) {
    throw new DatasetError(outDir, `holds a cache index that cannot be used (${(e as Error).message}); add --overwrite to start again`, { cause: e });
  }
}

/** --overwrite or a fresh start: remove what an earlier run of ours left (only our own file names). */
async function removeOwnFiles(outDir: string): Promise<void> {
  for (const n of await readdir(outDir)) if (isOwnFile(n)) await rm(join(outDir, n), { force: true });
}

/** Resume: drop temp files and shards written after the last index update (they will be redone), check the rest. */
async function removeStrays(outDir: string, idx: CacheIndex): Promise<void> {
  const keep = new Set(idx.shards.map((s) => s.file));
  for (const n of await readdir(outDir)) {
    if (n.includes('.tmp-') || (SHARD_FILE_RE.test(n) && !keep.has(n)) || n === PREVIEW_FILE || n === SKIPPED_FILE) await rm(join(outDir, n), { force: true });
  }
  for (const s of idx.shards) {
    const st = await stat(join(outDir, s.file)).catch(() => undefined);
    if (!st || st.size !== s.bytes) {
      throw new DatasetError(
        join(outDir, s.file),
        `is ${st ? `${st.size} bytes, the index says ${s.bytes}` : 'missing'}; the partial cache is damaged, add --overwrite to start again`,
      );
    }
  }
}

async function writePreview(outDir: string, idx: CacheIndex, perGroup: number): Promise<string | undefined> {
  if (!idx.samples.length) return undefined;
  const reader = await openCache(outDir, { index: idx, allowIncomplete: true });
  try {
    const rows: ContactSheetRow[] = [];
    const byGroup = idx.groups.labels.map(() => [] as number[]);
    idx.samples.forEach((s, i) => byGroup[s.group]!.push(i));
    for (let g = 0; g < idx.groups.labels.length; g++) {
      const members = byGroup[g]!;
      const tiles = [];
      for (const i of members.slice(0, perGroup)) {
        const r = await reader.read(i);
        const s = idx.samples[i]!;
        tiles.push({
          image: r.image,
          mask: r.mask,
          caption: `${s.age ?? groupCenterLabel(idx, s.group)} · ${s.split}${s.mask === 'prior' ? '' : ` · ${s.mask}`}`,
        });
      }
      rows.push({ label: idx.groups.labels[g]!, sublabel: `${members.length} sample${members.length === 1 ? '' : 's'}`, tiles });
    }
    const masks = Object.entries(idx.counts.byMask)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    const png = await renderContactSheet(rows, {
      size: idx.record.size,
      columns: perGroup,
      title: `${idx.args.format} · ${idx.record.size}² · ${idx.samples.length} samples · ${idx.groups.name} · masks: ${masks} (blue = background)`,
    });
    const path = join(outDir, PREVIEW_FILE);
    await writeFileAtomic(path, png);
    return path;
  } finally {
    await reader.close();
  }
}

function groupCenterLabel(idx: CacheIndex, group: number): string {
  return `~${idx.groups.labels[group]}`;
}

function summarise(
  idx: CacheIndex,
  paths: { outDir: string; indexPath: string; skippedPath: string; previewPath: string | undefined },
  status: PrepareResult['status'],
  resumedFrom: number,
  elapsedMs: number,
  imagesPerSecond: number,
  maskChain: string[],
  o: ResolvedOptions,
): PrepareResult {
  const c = countIndex(idx);
  const byMask = Object.fromEntries(MASK_SOURCES.map((m) => [m, c.byMask[m] ?? 0])) as Record<MaskSource, number>;
  const notes: string[] = [];
  if (byMask.prior > 0 && idx.args.masks === 'auto' && !o.maskPlugins.landmarks) {
    notes.push(
      `masks: ${byMask.prior} of ${c.kept} are the elliptical prior: ${idx.args.format === 'ffhq-aging' ? 'those images have no parsing map and ' : ''}no ` +
        `landmark mask provider is available yet`,
    );
  } else if (byMask.prior > 0 && idx.args.masks === 'prior') {
    notes.push(`masks: all ${byMask.prior} are the elliptical prior (--masks prior)`);
  }
  if (c.maskFallbacks > 0)
    notes.push(
      `masks: ${c.maskFallbacks} fell back to the elliptical prior because ` +
        `${maskChain.filter((s) => s !== 'prior' && s !== 'parsing' && s !== 'mask-file').join('/')} failed (maskFallback in index.json says why)`,
    );
  const cacheBytes = idx.shards.reduce((a, s) => a + s.bytes, 0);
  return {
    status,
    ...paths,
    total: idx.listing.items + idx.listing.skipped,
    kept: c.kept,
    skipped: c.skipped,
    bySkipKind: c.bySkipKind as Partial<Record<SkipKind, number>>,
    byMask,
    maskFallbacks: c.maskFallbacks,
    train: c.train,
    test: c.test,
    shards: idx.shards.length,
    cacheBytes,
    resumedFrom,
    maskChain,
    elapsedMs,
    imagesPerSecond: Number.isFinite(imagesPerSecond) ? imagesPerSecond : 0,
    notes,
  };
}

/** The representative age of a sample whose exact age is unknown (FFHQ-Aging gives groups only). */
export function sampleAge(idx: CacheIndex, s: CacheSample): number {
  if (s.age !== null) return s.age;
  return groupCenter(getAgeGroupSet(idx.groups.name).groups[s.group]!);
}
