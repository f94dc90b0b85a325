import * as tf from '@tensorflow/tfjs';
import { ShapeError, sha256Hex } from '@ragan/core';
import type { EvalDataset, EvalSamples } from '../interfaces.js';

export interface MemoryDatasetArgs {
  name?: string;
  split?: string;
  ageGroups?: string;
  /** `[N, S, S, 3]` in [-1, 1] and `[N, S, S, 1]`; kept (not copied): dispose them after the evaluation. */
  images: tf.Tensor4D;
  masks: tf.Tensor4D;
  groups: number[];
  ages: (number | null)[];
  /** Default `face-0`, `face-1`, … */
  ids?: string[];
}

/**
 * An EvalDataset over tensors in memory (tests, notebooks, a custom reader that loads everything).
 * Its datasetHash is the SHA-256 of the ids, labels and pixel values, so equal data hashes equally.
 */
export async function memoryDataset(args: MemoryDatasetArgs): Promise<EvalDataset> {
  const { images, masks, groups, ages } = args;
  const n = images.shape[0];
  if (images.shape[1] !== images.shape[2] || images.shape[3] !== 3) throw new ShapeError(`memoryDataset: images must be [N, S, S, 3], got [${images.shape}]`);
  if (masks.shape.join() !== [n, images.shape[1], images.shape[2], 1].join())
    throw new ShapeError(`memoryDataset: masks must be [${n}, ${images.shape[1]}, ${images.shape[2]}, 1], got [${masks.shape}]`);
  if (groups.length !== n || ages.length !== n) throw new ShapeError(`memoryDataset: ${n} images but ${groups.length} groups and ${ages.length} ages`);
  const ids = args.ids ?? Array.from({ length: n }, (_, i) => `face-${i}`);
  if (ids.length !== n) throw new ShapeError(`memoryDataset: ${n} images but ${ids.length} ids`);
  const pixels = await images.data();
  const enc = new TextEncoder().encode(JSON.stringify({ ids, groups, ages }));
  const all = new Uint8Array(enc.byteLength + pixels.byteLength);
  all.set(enc);
  all.set(new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength), enc.byteLength);
  const datasetHash = await sha256Hex(all);
  return {
    name: args.name ?? 'memory',
    split: args.split ?? 'test',
    resolution: images.shape[1],
    ageGroups: args.ageGroups ?? 'ffhq-aging-10',
    ids,
    datasetHash,
    async load(indices): Promise<EvalSamples> {
      const idx = [...indices];
      return tf.tidy(() => ({
        images: tf.gather(images, idx) as tf.Tensor4D,
        masks: tf.gather(masks, idx) as tf.Tensor4D,
        groups: idx.map((i) => groups[i]!),
        ages: idx.map((i) => ages[i]!),
      }));
    },
  };
}
