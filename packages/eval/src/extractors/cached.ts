import * as tf from '@tensorflow/tfjs';
import type { FaceEmbedder } from '../interfaces.js';

/**
 * Wraps an embedder so that embedding the same tensor twice runs the network once. The identity metric
 * and an embedder-based FID extractor see the very same input and output tensors of each batch, so
 * sharing halves the most expensive part of an evaluation. Keyed by tensor id (never reused within a
 * process); keeps the `size` most recent results and disposes older ones. Returns clones (the caller
 * disposes them, as usual). Call `dispose()` when done.
 */
export function cachedEmbedder(embedder: FaceEmbedder, opts: { size?: number } = {}): FaceEmbedder & { dispose(): void; readonly hits: number } {
  const size = opts.size ?? 64;
  const cache = new Map<number, tf.Tensor2D>();
  let hits = 0;
  return {
    name: embedder.name,
    sameIdentityThreshold: embedder.sameIdentityThreshold,
    dims: embedder.dims,
    get hits() {
      return hits;
    },
    async embed(images) {
      const hit = cache.get(images.id);
      if (hit) {
        hits++;
        return tf.clone(hit);
      }
      const e = await embedder.embed(images);
      cache.set(images.id, tf.keep(tf.clone(e)));
      while (cache.size > size) {
        const [oldest, t] = cache.entries().next().value as [number, tf.Tensor2D];
        t.dispose();
        cache.delete(oldest);
      }
      return e;
    },
    dispose() {
      for (const t of cache.values()) t.dispose();
      cache.clear();
    },
  };
}
