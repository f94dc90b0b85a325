import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '@ragan/core';
import type { RgbImage } from '../images/decode.js';

/** 8-bit RGB, row-major HWC, `data.length === width * height * 3` (the data pipeline's image type). */
export type { RgbImage };

/** A point `[x, y]` in pixels (x right, y down; pixel (i, j) covers [i, i+1) × [j, j+1), as in face-api and sharp). */
export type Point2 = [number, number];

/** An axis-aligned box in pixels. */
export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Throws a ShapeError unless `image` is a well-formed RgbImage. */
export function checkRgbImage(image: RgbImage, what = 'image'): void {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new ShapeError(`${what}: width and height must be positive integers, got ${width}x${height}`);
  }
  if (!data || data.length !== width * height * 3) {
    throw new ShapeError(`${what}: expected ${width * height * 3} bytes (${width}x${height} RGB), got ${data?.length}`);
  }
}

/** A new int32 `[H, W, 3]` tensor of the image's pixels (0..255). The caller disposes it. */
export function rgbToTensor(image: RgbImage): tf.Tensor3D {
  checkRgbImage(image);
  return tf.tensor3d(Int32Array.from(image.data), [image.height, image.width, 3], 'int32');
}
