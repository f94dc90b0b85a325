import { UTKFACE_ALIGN } from '@ragan/core';
import { createSampler, verifyCache, type Sampler, type SamplerCursor } from '@ragan/data';
import type { BatchSource, SourceBatch } from './batch-source.js';

export interface CacheSourceOptions {
  batch: number;
  seed?: number;
  flip?: boolean;
  balanceGroups?: boolean;
  /**
   * Check the cache first (`verifyCache`: every shard's SHA-256 against the index, every sample's record
   * inside its shard), so that a damaged cache stops here rather than hours into a run. Default true.
   */
  verify?: boolean;
  /** Where to say that a resumed cursor was written with the other `balanceGroups` setting (a new data order starts). */
  log?: (line: string) => void;
}

/**
 * A BatchSource over a training cache written by `ragan prepare` (train split), with the sampler's
 * cursor for exact resume; sample-grid inputs are the first faces of the test split.
 */
export async function cacheBatchSource(cacheDir: string, opts: CacheSourceOptions): Promise<BatchSource> {
  const base = { batch: opts.batch, split: 'train' as const, seed: opts.seed ?? 0, flip: opts.flip ?? true, balanceGroups: opts.balanceGroups ?? false };
  if (opts.verify ?? true) await verifyCache(cacheDir);
  let sampler: Sampler = await createSampler(cacheDir, base);
  let cursor: SamplerCursor = sampler.cursor();
  // A cursor saved while the run drew groups the other way (balanceGroups changed on resume) cannot
  // continue its stream: start a new one at the next epoch, from the saved generator state, so that
  // the new order is still fixed by the checkpoint. Any other foreign cursor is refused by the sampler.
  const adopt = async (c: SamplerCursor): Promise<SamplerCursor> => {
    const mine = sampler.cursor().fingerprint;
    if (!c || typeof c !== 'object' || c.fingerprint === mine) return c;
    const other = await createSampler(cacheDir, { ...base, balanceGroups: !base.balanceGroups, cursor: c, prefetch: 0 }).catch(() => undefined);
    if (!other) return c;
    await other.close();
    opts.log?.(
      `the data was drawn ${base.balanceGroups ? 'in its own proportions' : 'balanced by age group'} until now; ` +
        `from here it is drawn ${base.balanceGroups ? 'balanced by age group' : 'in its own proportions'} (a new data order, epoch ${c.epoch + 1})`,
    );
    return { version: 1, epoch: c.epoch + 1, position: 0, rng: c.rng, fingerprint: mine };
  };
  return {
    resolution: sampler.imageSize,
    ageGroups: sampler.index.groups.name,
    ...(sampler.index.args.format === 'utkface' ? { alignment: UTKFACE_ALIGN } : {}),
    splits: { train: sampler.size, test: sampler.index.samples.filter((s) => s.split === 'test').length },
    async next(): Promise<SourceBatch> {
      const b = await sampler.next();
      cursor = b.cursor;
      return { images: b.images, masks: b.masks, groups: b.groups };
    },
    getCursor: () => cursor,
    async setCursor(c: unknown) {
      await sampler.close();
      sampler = await createSampler(cacheDir, { ...base, cursor: await adopt(c as SamplerCursor) });
      cursor = sampler.cursor();
    },
    async fixedSamples(count: number) {
      const test = await createSampler(cacheDir, { batch: count, split: 'test', seed: 0, flip: false, prefetch: 0 }).catch(() =>
        createSampler(cacheDir, { batch: count, split: 'all', seed: 0, flip: false, prefetch: 0 }),
      );
      try {
        const b = await test.next();
        return { images: b.images, masks: b.masks };
      } finally {
        await test.close();
      }
    },
    async close() {
      await sampler.close();
    },
  };
}
