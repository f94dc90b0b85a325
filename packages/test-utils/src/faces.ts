import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { sampleFaceChips } from './sample-faces.js';

/**
 * Loads `count` real faces (face-api's sample photos, cut as sample-faces.ts says: the first chips in
 * sorted order whose made-up age matches `filter`) resized to `size`², as `[N,size,size,3]` in [-1, 1],
 * with those ages. Caller disposes `images`.
 */
export async function loadFaces(
  count: number,
  size: number,
  filter: (age: number) => boolean = () => true,
): Promise<{ images: tf.Tensor4D; ages: number[]; files: string[] }> {
  const dir = await sampleFaceChips();
  const files = readdirSync(dir)
    .filter((f) => /^\d+_[01]_[0-4]_\d+\.jpg\.chip\.jpg$/.test(f) && filter(Number(f.split('_')[0])))
    .sort()
    .slice(0, count);
  const data = new Float32Array(files.length * size * size * 3);
  for (let i = 0; i < files.length; i++) {
    const raw = await sharp(join(dir, files[i]!)).removeAlpha().resize(size, size).raw().toBuffer();
    for (let j = 0; j < raw.length; j++) data[i * size * size * 3 + j] = raw[j]! / 127.5 - 1;
  }
  return { images: tf.tensor4d(data, [files.length, size, size, 3]), ages: files.map((f) => Number(f.split('_')[0])), files };
}

/** An elliptical face-region prior `[N,size,size,1]` (centre, 0.36 × 0.46 of the side as radii). */
export function ellipseMask(n: number, size: number): tf.Tensor4D {
  const m = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const dx = (x + 0.5 - size / 2) / (0.36 * size);
      const dy = (y + 0.5 - size * 0.52) / (0.46 * size);
      m[y * size + x] = dx * dx + dy * dy <= 1 ? 1 : 0;
    }
  }
  return tf.tidy(() => tf.tile(tf.tensor4d(m, [1, size, size, 1]), [n, 1, 1, 1]) as tf.Tensor4D);
}
