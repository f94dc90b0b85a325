import sharp from 'sharp';
import { DatasetError } from '@ragan/core';
import type { RgbImage } from '../faces/image.js';

/** A decoded photo, turned upright. */
export interface Photo {
  /** Upright RGB pixels (EXIF orientation applied, alpha dropped, grey expanded to RGB). */
  image: RgbImage;
  /** EXIF orientation tag of the file (1-8; 1 when absent). The pixels are already rotated by it. */
  orientation: number;
  /** Size of the stored pixels before the EXIF rotation. */
  storedWidth: number;
  storedHeight: number;
  /** What to call it in messages: the path, or `<buffer>`. */
  name: string;
}

/** Reads any format sharp decodes (JPEG, PNG, WebP, TIFF, AVIF, ...), honouring EXIF orientation. */
export async function readPhoto(input: string | Uint8Array): Promise<Photo> {
  const name = typeof input === 'string' ? input : '<buffer>';
  try {
    const s = sharp(input, { failOn: 'error' });
    const meta = await s.metadata();
    const { data, info } = await s.rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    let rgb: Uint8Array = data;
    if (info.channels !== 3) {
      // sharp keeps one band for some greyscale inputs; expand.
      rgb = new Uint8Array(info.width * info.height * 3);
      for (let i = 0; i < info.width * info.height; i++) {
        const v = data[i * info.channels]!;
        rgb[i * 3] = v;
        rgb[i * 3 + 1] = v;
        rgb[i * 3 + 2] = v;
      }
    }
    return {
      image: { data: rgb, width: info.width, height: info.height },
      orientation: meta.orientation ?? 1,
      storedWidth: meta.width ?? info.width,
      storedHeight: meta.height ?? info.height,
      name,
    };
  } catch (e) {
    throw new DatasetError(name, `cannot decode the image (${(e as Error).message})`, { cause: e });
  }
}

/** Encodes an RgbImage as PNG. */
export async function encodeRgbPng(image: RgbImage): Promise<Buffer> {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).png().toBuffer();
}
