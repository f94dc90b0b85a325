import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '@ragan/core';
import { checkRgbImage, type RgbImage } from './image.js';
import { requireFaceModels } from './models.js';
import { ALIGNED_AGE_REGION, cropRegion, resolveRegion, type RegionSpec } from './region.js';

export interface EstimateAgeOptions {
  /** Value range of tensor input: `signed` = [-1, 1] (default for tensors), `byte` = [0, 255]. RgbImages are bytes. */
  range?: 'signed' | 'byte';
  /**
   * Which part of each image is the face: `aligned` (default) = inside an FFHQ-Aging crop from
   * alignFace (ALIGNED_AGE_REGION); `full` = the whole image (tight crops such as UTKFace chips); or
   * fractions `{ x, y, width, height }`.
   */
  region?: RegionSpec;
  /** Images per forward pass. Default 16. */
  batchSize?: number;
}

const INPUT = 112;

/**
 * Apparent age in years of each face, from face-api's age/gender regressor (pretrained, independent of
 * our models; face-api's TUTORIAL.md: trained with an 80/20 split on UTK, FGNET, Chalearn, Wiki, IMDB,
 * CACD, MegaAge, MegaAge-Asian, so its error on UTKFace images is optimistic). `faces`: RgbImages (any
 * sizes) or an `[N, H, W, 3]` tensor (the caller keeps it).
 * Needs `loadFaceModels({ age: true })`. Inference only (no gradients).
 */
export async function estimateAge(faces: RgbImage[] | tf.Tensor4D, options: EstimateAgeOptions = {}): Promise<number[]> {
  const { faceapi } = requireFaceModels('age', 'estimateAge');
  const region = resolveRegion(options.region ?? 'aligned', ALIGNED_AGE_REGION, 'estimateAge.region');
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 16));
  const n = faces instanceof tf.Tensor ? faces.shape[0] : faces.length;
  if (faces instanceof tf.Tensor && (faces.rank !== 4 || faces.shape[3] !== 3)) {
    throw new ShapeError(`estimateAge: expected [N, H, W, 3] faces, got [${faces.shape.join(', ')}]`);
  }
  const ages: number[] = [];
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    // 112×112 crops in 0..255, one Tensor3D per face (face-api batches an array of them).
    const crops: tf.Tensor3D[] = tf.tidy(() => {
      if (faces instanceof tf.Tensor) {
        const batch = tf.cast(tf.slice(faces, [start, 0, 0, 0], [count, -1, -1, -1]), 'float32') as tf.Tensor4D;
        const bytes = (options.range ?? 'signed') === 'signed' ? tf.mul(tf.add(batch, 1), 127.5) : batch;
        return tf.unstack(cropRegion(bytes as tf.Tensor4D, region, INPUT)) as tf.Tensor3D[];
      }
      return faces.slice(start, start + count).map((img, i) => {
        checkRgbImage(img, `estimateAge faces[${start + i}]`);
        const t = tf.tensor4d(Float32Array.from(img.data), [1, img.height, img.width, 3]);
        return tf.squeeze(cropRegion(t, region, INPUT), [0]) as tf.Tensor3D;
      });
    });
    try {
      const preds = await faceapi.nets.ageGenderNet.predictAgeAndGender(crops);
      for (const p of Array.isArray(preds) ? preds : [preds]) ages.push(p.age);
    } finally {
      tf.dispose(crops);
    }
  }
  return ages;
}
