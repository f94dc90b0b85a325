import sharp from 'sharp';
import type { RgbImage } from '../faces/image.js';
import { decodeRgbFull, PHOTO_FORMATS, probeImage, readImageFile } from '../images/decode.js';

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

export interface PhotoReadOptions {
  /** Default MAX_PHOTO_PIXELS. */
  maxPixels?: number;
  /** Largest file read, in bytes (default DEFAULT_MAX_FILE_BYTES, 256 MiB). */
  maxBytes?: number;
}

const photoDecodeOptions = (name: string, o: PhotoReadOptions) => ({
  name,
  maxPixels: o.maxPixels ?? MAX_PHOTO_PIXELS,
  formats: PHOTO_FORMATS,
  purpose: 'photo' as const,
});

/**
 * Checks a photo before anything slow happens (loading a model): the path names a readable, non-empty
 * file (not a folder, not a dangling symlink) within the file-size limit, whose header is a supported
 * format (PHOTO_FORMATS: JPEG, PNG, WebP, TIFF, GIF, AVIF; never SVG, which can fetch other files) within
 * `maxPixels`. Throws an ImageFileError naming the file and saying what is wrong.
 */
export async function checkPhotoFile(path: string, options: PhotoReadOptions = {}): Promise<PhotoHeader> {
  const h = await probeImage(await readImageFile(path, options), photoDecodeOptions(path, options));
  return { format: h.format, width: h.width, height: h.height };
}

/**
 * Reads a photo: the one image-reading path of @ragan/data (`readImageFile`, `probeImage`,
 * `decodeRgbFull`) with the photo limits (`checkPhotoFile`). Honours EXIF orientation; a truncated or
 * damaged file is an ImageFileError naming it, never grey pixels.
 */
export async function readPhoto(input: string | Uint8Array, options: PhotoReadOptions = {}): Promise<Photo> {
  const name = typeof input === 'string' ? input : '<buffer>';
  const bytes = typeof input === 'string' ? await readImageFile(input, options) : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const { image, header } = await decodeRgbFull(bytes, photoDecodeOptions(name, options));
  return { image, orientation: header.orientation, storedWidth: header.width, storedHeight: header.height, name };
}

/** Encodes an RgbImage as PNG. */
export async function encodeRgbPng(image: RgbImage): Promise<Buffer> {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png()
    .toBuffer();
}
