import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { ageStrip, type Generator } from '@ragan/core';

/**
 * A PNG grid: one row per input face, first column the input, then the face re-aged to every age
 * group in order (youngest left). Uses the generator in inference mode. Inputs are not disposed.
 */
export async function sampleGridPng(generator: Generator, images: tf.Tensor4D, masks: tf.Tensor4D): Promise<Uint8Array> {
  const [n, h, w] = images.shape;
  const k = generator.numGroups;
  const strip = ageStrip(generator, images, masks); // [n*k, h, w, 3], face-major
  const grid = tf.tidy(() => {
    const withInput = tf.concat([tf.expandDims(images, 1), strip.reshape([n, k, h, w, 3])], 1); // [n, k+1, h, w, 3]
    const rows = tf.transpose(withInput, [0, 2, 1, 3, 4]).reshape([n * h, (k + 1) * w, 3]);
    return tf.clipByValue(tf.round(tf.mul(tf.add(rows, 1), 127.5)), 0, 255).toInt();
  });
  strip.dispose();
  const pixels = Uint8Array.from(await grid.data());
  grid.dispose();
  const png = await sharp(pixels, { raw: { width: (k + 1) * w, height: n * h, channels: 3 } })
    .png()
    .toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}
