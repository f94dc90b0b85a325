import sharp from 'sharp';
import { DatasetError } from '@ragan/core';
import type { RgbImage } from '../faces/image.js';
import { ImageFileError, statImageFile } from '../images/decode.js';

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

/**
 * Largest photo decoded (width × height): sharp's own default, 0x3FFF² ≈ 268 megapixels (805 MB of RGB).
 * Larger ones are refused from their header, before any pixel is decoded.
 */
export const MAX_PHOTO_PIXELS = 0x3fff * 0x3fff;

/** What `checkPhotoFile` learns from a photo's header. */
export interface PhotoHeader {
  format: string;
  /** Stored size, before EXIF rotation. */
  width: number;
  height: number;
}

const megapixels = (n: number) => `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)} megapixels`;

/** Reads a photo's header (no pixels) and checks it against the pixel limit. */
async function photoHeader(input: string | Uint8Array, name: string, maxPixels: number): Promise<PhotoHeader> {
  let meta;
  try {
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (e) {
    const msg = String((e as Error)?.message ?? e).split('\n')[0]!;
    if (/unsupported image format/i.test(msg))
      throw new ImageFileError(name, 'not-an-image', 'is not an image (not a format sharp decodes: JPEG, PNG, WebP, TIFF, GIF, AVIF, ...)', { cause: e });
    throw new ImageFileError(name, 'corrupt', `cannot be decoded (${msg})`, { cause: e });
  }
  const { width, height, format } = meta;
  if (!width || !height || !format) throw new ImageFileError(name, 'corrupt', 'has no image size in its header');
  if (width * height > maxPixels) {
    throw new ImageFileError(
      name,
      'too-large',
      `is ${width}×${height} = ${megapixels(width * height)}, over the ${megapixels(maxPixels)} limit for photos; scale it down first`,
    );
  }
  return { format, width, height };
}

/**
 * Checks a photo before anything slow happens (loading a model): the path names a readable, non-empty
 * file (not a folder, not a dangling symlink), an image whose header sharp reads, within `maxPixels`
 * (default MAX_PHOTO_PIXELS). Throws an ImageFileError naming the file and saying what is wrong.
 */
export async function checkPhotoFile(path: string, options: { maxPixels?: number } = {}): Promise<PhotoHeader> {
  await statImageFile(path);
  return photoHeader(path, path, options.maxPixels ?? MAX_PHOTO_PIXELS);
}

/**
 * Reads any format sharp decodes (JPEG, PNG, WebP, TIFF, AVIF, ...), honouring EXIF orientation. A path is
 * checked first (`checkPhotoFile`); photos over `maxPixels` (default MAX_PHOTO_PIXELS) are refused.
 */
export async function readPhoto(input: string | Uint8Array, options: { maxPixels?: number } = {}): Promise<Photo> {
  const name = typeof input === 'string' ? input : '<buffer>';
  const maxPixels = options.maxPixels ?? MAX_PHOTO_PIXELS;
  if (typeof input === 'string') await checkPhotoFile(input, { maxPixels });
  else await photoHeader(input, name, maxPixels);
  try {
    const s = sharp(input, { failOn: 'error', limitInputPixels: maxPixels });
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
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png()
    .toBuffer();
}
