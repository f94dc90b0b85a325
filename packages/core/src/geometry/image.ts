import { ShapeError } from '../errors/index.js';

/** 8-bit RGB pixels, row-major, `data.length === width * height * 3` (sharp's raw layout). */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** A point `[x, y]` in pixels (x right, y down; pixel (i, j) covers [i, i+1) × [j, j+1), as in face-api and sharp). */
export type Point2 = [number, number];

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
