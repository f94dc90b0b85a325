import * as tf from '@tensorflow/tfjs';
import { Rng, ShapeError, type RngState } from '@ragan/core';
import type { BatchSource, SourceBatch } from './batch-source.js';

export interface MemorySourceOptions {
  batch: number;
  seed?: number;
  /** Random horizontal flips (the spec's only augmentation). Default true. */
  flip?: boolean;
}

interface Cursor {
  epoch: number;
  position: number;
  rng: RngState;
  order: number[];
}

/**
 * A BatchSource over images already in memory (`[N,H,W,3]` in [-1,1], masks `[N,H,W,1]`, a group per
 * image): seeded shuffling per epoch and flips, with a JSON cursor for exact resume. Keeps copies of
 * the tensors; call close() to free them.
 */
export function memoryBatchSource(images: tf.Tensor4D, masks: tf.Tensor4D, groups: readonly number[], opts: MemorySourceOptions): BatchSource {
  const n = images.shape[0];
  if (masks.shape[0] !== n || groups.length !== n) throw new ShapeError(`memoryBatchSource: ${n} images, ${masks.shape[0]} masks, ${groups.length} groups`);
  if (!(opts.batch >= 1 && opts.batch <= n)) throw new ShapeError(`batch must be in [1, ${n}], got ${opts.batch}`);
  const imgs = tf.keep(images.clone());
  const msks = tf.keep(masks.clone());
  const rng = new Rng(opts.seed ?? 1);
  const flip = opts.flip ?? true;
  const shuffled = () => {
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    return order;
  };
  let cursor: Cursor = { epoch: 0, position: 0, rng: 0, order: [] };
  cursor.order = shuffled();
  cursor.rng = rng.getState();

  return {
    resolution: images.shape[1],
    async next(): Promise<SourceBatch> {
      const idx: number[] = [];
      while (idx.length < opts.batch) {
        if (cursor.position >= n) {
          rng.setState(cursor.rng);
          cursor = { epoch: cursor.epoch + 1, position: 0, order: shuffled(), rng: 0 };
          cursor.rng = rng.getState();
        }
        idx.push(cursor.order[cursor.position++]!);
      }
      rng.setState(cursor.rng);
      const flips = idx.map(() => flip && rng.next() < 0.5);
      cursor.rng = rng.getState();
      return tf.tidy(() => {
        const ix = tf.tensor1d(idx, 'int32');
        let x = tf.gather(imgs, ix) as tf.Tensor4D;
        let m = tf.gather(msks, ix) as tf.Tensor4D;
        if (flips.some(Boolean)) {
          const f = tf.tensor4d(
            flips.map((v) => (v ? 1 : 0)),
            [idx.length, 1, 1, 1],
          );
          x = tf.add(tf.mul(tf.image.flipLeftRight(x), f), tf.mul(x, tf.sub(1, f))) as tf.Tensor4D;
          m = tf.add(tf.mul(tf.image.flipLeftRight(m), f), tf.mul(m, tf.sub(1, f))) as tf.Tensor4D;
        }
        return { images: x, masks: m, groups: idx.map((i) => groups[i]!) };
      });
    },
    getCursor: () => ({ ...cursor, order: [...cursor.order] }),
    setCursor(c: unknown) {
      const v = c as Cursor;
      if (!v || !Array.isArray(v.order) || v.order.length !== n) throw new ShapeError('memoryBatchSource: the cursor belongs to another data set');
      cursor = { ...v, order: [...v.order] };
      rng.setState(cursor.rng);
    },
    async fixedSamples(count: number) {
      const k = Math.min(count, n);
      return { images: tf.keep(imgs.slice(0, k)), masks: tf.keep(msks.slice(0, k)) };
    },
    close() {
      imgs.dispose();
      msks.dispose();
    },
  };
}
