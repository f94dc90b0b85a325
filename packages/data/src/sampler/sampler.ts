import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { ConfigError, DatasetError } from '@ragan/core';
import type { CacheIndex } from '../cache/format.js';
import { sampleAge } from '../cache/prepare.js';
import { openCache, type CacheReader } from '../cache/reader.js';
import { isSfc32State, mix32, Rng, type Sfc32State } from '@ragan/core';

export interface SamplerOptions {
  /** Samples per batch. */
  batch: number;
  /** Which split to draw from; default 'train'. */
  split?: 'train' | 'test' | 'all';
  /** Seed of the shuffling and flips; default 0. */
  seed?: number;
  /**
   * Draw every sample's group uniformly among the split's non-empty groups, then a sample of that
   * group (each group's samples in a fresh shuffled order per epoch). Young and old groups are rare
   * in face data sets; without this the generator rarely sees them as real examples. Default false.
   */
  balanceGroups?: boolean;
  /** Mirror half of the samples left-right (decided per stream position, so it resumes exactly). Default false. */
  flip?: boolean;
  /** Batches read ahead while the caller trains; default 2, 0 = read on demand. */
  prefetch?: number;
  /** Resume where a previous sampler's `cursor()` was. */
  cursor?: SamplerCursor;
}

/**
 * Where a sampler is in its stream, as plain JSON: `epoch`, `position` (samples of that epoch
 * already returned) and `rng`, the generator state at the start of the epoch (which fixes its order).
 * `fingerprint` ties it to the cache, split, seed and balancing, so a cursor is not applied to
 * another stream. The batch size may change on resume: positions count samples.
 */
export interface SamplerCursor {
  version: 1;
  epoch: number;
  position: number;
  rng: Sfc32State;
  fingerprint: string;
}

/**
 * One batch. The caller owns the tensors: dispose them with `batch.dispose()` (or `tf.dispose`)
 * once the step is done. The sampler keeps no tensors of its own.
 */
export interface SamplerBatch {
  /** [B, S, S, 3] float32 in [-1, 1]. */
  images: tf.Tensor4D;
  /** [B, S, S, 1] float32 in [0, 1]; 1 = face region. */
  masks: tf.Tensor4D;
  /** Age-group index per sample. */
  groups: number[];
  /** Age per sample: the exact age, or the group's centre where only the group is known. */
  ages: number[];
  /** Index of each sample in the cache's `index.samples`. */
  samples: number[];
  /** Which samples were mirrored. */
  flipped: boolean[];
  /** The stream position after this batch: save it with a checkpoint that includes this step. */
  cursor: SamplerCursor;
  dispose(): void;
}

export interface Sampler extends AsyncIterable<SamplerBatch> {
  readonly index: CacheIndex;
  /** Samples in the chosen split. */
  readonly size: number;
  /** Image side S. */
  readonly imageSize: number;
  /** Batches per pass over the split (the last batch of an epoch continues into the next). */
  readonly batchesPerEpoch: number;
  /** The next batch. The stream is endless: epochs follow each other. */
  next(): Promise<SamplerBatch>;
  /** Position of the next batch `next()` returns (not counting read-ahead). */
  cursor(): SamplerCursor;
  /** Closes the cache files; pending read-ahead is dropped. Idempotent. */
  close(): Promise<void>;
}

interface Prepared {
  seq: number;
  images: Float32Array;
  masks: Float32Array;
  groups: number[];
  ages: number[];
  samples: number[];
  flipped: boolean[];
  cursor: SamplerCursor;
}

interface Epoch {
  epoch: number;
  start: Sfc32State;
  next: Sfc32State;
  /** Positions into `members`. */
  order: Int32Array;
}

/**
 * Reads a cache made by `prepareCache` / `ragan prepare` as an endless stream of batches: seeded
 * shuffling per epoch, optional group balancing, optional horizontal flips, read-ahead of
 * `prefetch` batches, and a JSON cursor for exact resume. Call `close()` at the end.
 */
export async function createSampler(cacheDir: string, options: SamplerOptions): Promise<Sampler> {
  const batch = options.batch;
  if (!Number.isInteger(batch) || batch < 1) throw new ConfigError('batch', `must be a positive integer, got ${String(batch)}`);
  const split = options.split ?? 'train';
  if (!['train', 'test', 'all'].includes(split)) throw new ConfigError('split', `must be train, test or all, got ${String(split)}`);
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) throw new ConfigError('seed', `must be an integer, got ${String(seed)}`);
  const prefetch = options.prefetch ?? 2;
  if (!Number.isInteger(prefetch) || prefetch < 0) throw new ConfigError('prefetch', `must be an integer ≥ 0, got ${String(prefetch)}`);
  const balance = options.balanceGroups ?? false;
  const flip = options.flip ?? false;

  const reader = await openCache(cacheDir);
  const { index } = reader;
  const members = index.samples.flatMap((s, i) => (split === 'all' || s.split === split ? [i] : []));
  if (!members.length) {
    await reader.close();
    throw new DatasetError(cacheDir, `the cache has no ${split} samples (${index.counts.train} train, ${index.counts.test} test)`);
  }
  const N = members.length;
  const S = index.record.size;
  const ages = index.samples.map((s) => sampleAge(index, s));
  const byGroup = new Map<number, number[]>();
  members.forEach((m, k) => {
    const g = index.samples[m]!.group;
    if (!byGroup.has(g)) byGroup.set(g, []);
    byGroup.get(g)!.push(k);
  });
  const groupsPresent = [...byGroup.keys()].sort((a, b) => a - b);
  const fingerprint = createHash('sha256')
    .update(JSON.stringify({ listing: index.listing.sha256, samples: index.samples.length, split, seed, balance }))
    .digest('hex')
    .slice(0, 16);

  let cur: SamplerCursor;
  if (options.cursor) {
    const c = options.cursor;
    if (
      c?.version !== 1 ||
      !Number.isInteger(c.epoch) ||
      c.epoch < 0 ||
      !Number.isInteger(c.position) ||
      c.position < 0 ||
      c.position >= N ||
      !isSfc32State(c.rng)
    ) {
      throw new ConfigError('cursor', 'is not a sampler cursor (version 1 with epoch, position and a 4-number rng state)');
    }
    if (c.fingerprint !== fingerprint) {
      throw new ConfigError('cursor', 'belongs to another stream (a different cache, split, seed or balanceGroups); resume with the options it was saved with');
    }
    cur = { ...c, rng: [...c.rng] as Sfc32State };
  } else {
    cur = { version: 1, epoch: 0, position: 0, rng: Rng.fromSeed(seed).getState() as Sfc32State, fingerprint };
  }

  const makeEpoch = (epoch: number, start: Sfc32State): Epoch => {
    const rng = new Rng(start);
    let order: Int32Array;
    if (!balance) {
      order = Int32Array.from(rng.shuffle(Array.from({ length: N }, (_, k) => k)));
    } else {
      order = new Int32Array(N);
      const pools = new Map(groupsPresent.map((g) => [g, rng.shuffle([...byGroup.get(g)!])]));
      const taken = new Map(groupsPresent.map((g) => [g, 0]));
      for (let k = 0; k < N; k++) {
        const g = groupsPresent[rng.int(groupsPresent.length)]!;
        const pool = pools.get(g)!;
        let t = taken.get(g)!;
        if (t === pool.length) {
          rng.shuffle(pool);
          t = 0;
        }
        order[k] = pool[t]!;
        taken.set(g, t + 1);
      }
    }
    return { epoch, start, next: rng.getState() as Sfc32State, order };
  };

  // The producer's own position runs ahead of the consumer's by the read-ahead.
  let epochs: Epoch[] = [makeEpoch(cur.epoch, cur.rng)];
  let prodEpoch = cur.epoch;
  let prodPos = cur.position;
  const epochAt = (e: number): Epoch => {
    let ep = epochs.find((x) => x.epoch === e);
    if (!ep) {
      const prev = epochAt(e - 1);
      ep = makeEpoch(e, prev.next);
      epochs.push(ep);
      // keep only what the consumer and producer can still need
      epochs = epochs.filter((x) => x.epoch >= Math.min(cur.epoch, e - 1));
    }
    return ep;
  };
  const flipOf = (epoch: number, position: number) => flip && (mix32(mix32(mix32(seed >>> 0) ^ epoch) ^ position) & 1) === 1;

  const plan = () => {
    const samples: number[] = [];
    const flipped: boolean[] = [];
    for (let b = 0; b < batch; b++) {
      const ep = epochAt(prodEpoch);
      samples.push(members[ep.order[prodPos]!]!);
      flipped.push(flipOf(prodEpoch, prodPos));
      prodPos++;
      if (prodPos === N) {
        prodPos = 0;
        prodEpoch++;
      }
    }
    const ep = epochAt(prodEpoch);
    const after: SamplerCursor = { version: 1, epoch: prodEpoch, position: prodPos, rng: [...ep.start] as Sfc32State, fingerprint };
    return { samples, flipped, after };
  };

  const load = async (reader: CacheReader, p: ReturnType<typeof plan>, seq: number): Promise<Prepared> => {
    const B = p.samples.length;
    const images = new Float32Array(B * S * S * 3);
    const masks = new Float32Array(B * S * S);
    const records = await Promise.all(p.samples.map((i) => reader.read(i)));
    for (let b = 0; b < B; b++) {
      const { image, mask } = records[b]!;
      const io = b * S * S * 3;
      const mo = b * S * S;
      const mirror = p.flipped[b]!;
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) {
          const src = y * S + (mirror ? S - 1 - x : x);
          const dst = y * S + x;
          images[io + dst * 3] = image[src * 3]! / 127.5 - 1;
          images[io + dst * 3 + 1] = image[src * 3 + 1]! / 127.5 - 1;
          images[io + dst * 3 + 2] = image[src * 3 + 2]! / 127.5 - 1;
          masks[mo + dst] = mask[src]! / 255;
        }
      }
    }
    return {
      seq,
      images,
      masks,
      groups: p.samples.map((i) => index.samples[i]!.group),
      ages: p.samples.map((i) => ages[i]!),
      samples: p.samples,
      flipped: p.flipped,
      cursor: p.after,
    };
  };

  const queue: Array<Promise<Prepared>> = [];
  let closed = false;
  let planned = 0;
  let delivered = -1;
  const enqueue = () => {
    const pr = load(reader, plan(), planned++);
    pr.catch(() => undefined); // surfaced by next(); never an unhandled rejection
    queue.push(pr);
  };
  const fill = () => {
    while (!closed && queue.length < Math.max(1, prefetch)) enqueue();
  };

  const sampler: Sampler = {
    index,
    size: N,
    imageSize: S,
    batchesPerEpoch: Math.ceil(N / batch),
    async next() {
      if (closed) throw new DatasetError(cacheDir, 'the sampler is closed');
      fill();
      const p = await queue.shift()!;
      // calls that overlap may resume out of order: the cursor only moves forward
      if (p.seq > delivered) {
        delivered = p.seq;
        cur = p.cursor;
      }
      // read ahead while the caller trains on this batch
      if (prefetch > 0) fill();
      const images = tf.tensor4d(p.images, [p.groups.length, S, S, 3], 'float32');
      const masks = tf.tensor4d(p.masks, [p.groups.length, S, S, 1], 'float32');
      return {
        images,
        masks,
        groups: p.groups,
        ages: p.ages,
        samples: p.samples,
        flipped: p.flipped,
        cursor: { ...p.cursor, rng: [...p.cursor.rng] as Sfc32State },
        dispose: () => tf.dispose([images, masks]),
      };
    },
    cursor: () => ({ ...cur, rng: [...cur.rng] as Sfc32State }),
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled(queue.splice(0));
      await reader.close();
    },
    [Symbol.asyncIterator]() {
      return {
        next: async () => ({ value: await sampler.next(), done: false }),
        return: async () => {
          await sampler.close();
          return { value: undefined, done: true };
        },
      };
    },
  };
  return sampler;
}
