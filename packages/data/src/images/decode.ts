import { constants, type Stats } from 'node:fs';
import { access, lstat, readFile, readlink, realpath, stat } from 'node:fs/promises';
import sharp from 'sharp';
import { DatasetError } from '@ragan/core';
import { isInside } from '../paths.js';
import type { SkipKind } from '../readers/types.js';
import type { RgbImage } from '@ragan/core';

export type { RgbImage };

/** Formats we decode. Others (SVG, HEIF, RAW...) are refused: SVG can fetch external resources, and none of them occur in face data sets. */
export const SUPPORTED_IMAGE_FORMATS = ['jpeg', 'png', 'webp', 'tiff', 'gif'] as const;

/**
 * Largest image (width × height) we agree to decode: 100 megapixels, ~300 MB of RGB. A small file can
 * declare 60000×60000 pixels (a decompression bomb); the header is checked before any pixel is
 * decoded and sharp's own `limitInputPixels` is the second line of defence.
 */
export const DEFAULT_MAX_PIXELS = 100_000_000;

/** Largest file we read into memory (256 MiB). */
export const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;

/** Interleaved 8-bit RGB, `data.length === width * height * 3`. */
/** One 8-bit channel, `data.length === width * height`. */
export interface GreyImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** An image file could not be used; `kind` says why (the skip-report category), the message names the file. */
export class ImageFileError extends DatasetError {
  readonly kind: SkipKind;
  constructor(file: string, kind: SkipKind, message: string, options: { cause?: unknown } = {}) {
    super(file, message, options);
    this.name = 'ImageFileError';
    this.kind = kind;
  }
}

export interface ReadFileOptions {
  /** Default DEFAULT_MAX_FILE_BYTES. */
  maxBytes?: number;
  /** Refuse the file if it resolves (through symlinks) outside this folder. */
  confineTo?: string;
  /** Name used in messages; default the path. */
  name?: string;
}

/**
 * Reads a file for decoding, turning every file-system failure into an ImageFileError that says
 * what is wrong in words (a folder with an image's name, a dangling symlink, no permission, empty).
 */
export async function readImageFile(path: string, options: ReadFileOptions = {}): Promise<Buffer> {
  const name = options.name ?? path;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
  const st = await statImageFile(path, name);
  if (st.size > maxBytes) throw new ImageFileError(name, 'too-large', `is ${fmtBytes(st.size)}, over the ${fmtBytes(maxBytes)} file-size limit`);
  if (options.confineTo) {
    const [real, root] = await Promise.all([realpath(path), realpath(options.confineTo)]);
    if (!isInside(root, real)) throw new ImageFileError(name, 'outside', `resolves (through a symlink) to ${real}, outside the manifest's folder ${root}`);
  }
  try {
    return await readFile(path);
  } catch (e) {
    throw await fsError(path, name, e);
  }
}

/**
 * Checks that `path` names a non-empty regular file this process can read (without reading it), in
 * words otherwise (ImageFileError naming it: missing, a folder, a dangling symlink, no permission, empty).
 * Returns its stat.
 */
export async function statImageFile(path: string, name = path): Promise<Stats> {
  let st: Stats;
  try {
    st = await stat(path);
  } catch (e) {
    throw await fsError(path, name, e);
  }
  if (st.isDirectory()) throw new ImageFileError(name, 'unreadable', 'is a folder, not an image file');
  if (!st.isFile()) throw new ImageFileError(name, 'unreadable', 'is not a regular file (a device, socket or pipe)');
  if (st.size === 0) throw new ImageFileError(name, 'empty', 'is empty (0 bytes)');
  try {
    await access(path, constants.R_OK);
  } catch (e) {
    throw await fsError(path, name, e);
  }
  return st;
}

async function fsError(path: string, name: string, e: unknown): Promise<ImageFileError> {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    // stat follows symlinks: distinguish "not there" from "a link to nothing"
    try {
      if ((await lstat(path)).isSymbolicLink()) {
        return new ImageFileError(name, 'unreadable', `is a dangling symlink (its target ${await readlink(path)} does not exist)`, { cause: e });
      }
    } catch {
      // not there at all
    }
    return new ImageFileError(name, 'missing', 'does not exist', { cause: e });
  }
  if (code === 'EACCES' || code === 'EPERM') return new ImageFileError(name, 'unreadable', 'cannot be read: permission denied', { cause: e });
  if (code === 'ELOOP') return new ImageFileError(name, 'unreadable', 'is a symlink loop', { cause: e });
  if (code === 'EISDIR') return new ImageFileError(name, 'unreadable', 'is a folder, not an image file', { cause: e });
  return new ImageFileError(name, 'unreadable', `cannot be read (${code ?? (e as Error).message})`, { cause: e });
}

export interface DecodeOptions {
  /** Name used in messages. */
  name?: string;
  /** Default DEFAULT_MAX_PIXELS. */
  maxPixels?: number;
  /** Formats accepted (sharp's names). Default SUPPORTED_IMAGE_FORMATS; photos: PHOTO_FORMATS. */
  formats?: readonly string[];
  /** What the image is for, in the words of an error: a data set's (default; `--max-pixels` raises the limit) or a photo's (no flag: scale it down). */
  purpose?: 'dataset' | 'photo';
}

/** Photos (`ragan age`, `ragan align`) may also be AVIF, which sharp reports as `heif`. */
export const PHOTO_FORMATS: readonly string[] = [...SUPPORTED_IMAGE_FORMATS, 'heif'];

const formatName = (f: string) => (f === 'heif' ? 'AVIF' : f === 'webp' ? 'WebP' : f.toUpperCase());

export interface ImageHeader {
  /** sharp's name of the format: one of `options.formats` (SUPPORTED_IMAGE_FORMATS unless given). */
  format: string;
  width: number;
  height: number;
  channels: number;
  /** Before EXIF rotation. */
  orientation: number;
}

/** Reads only the header: format and size, checked against the supported formats and the pixel limit. */
export async function probeImage(input: Buffer, options: DecodeOptions = {}): Promise<ImageHeader> {
  const name = options.name ?? 'image';
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const formats = options.formats ?? SUPPORTED_IMAGE_FORMATS;
  if (input.length === 0) throw new ImageFileError(name, 'empty', 'is empty (0 bytes)');
  let meta;
  try {
    meta = await sharp(input, { limitInputPixels: false, failOn: 'none' }).metadata();
  } catch (e) {
    throw sharpError(name, e);
  }
  const format = meta.format as string | undefined;
  if (!format || !formats.includes(format)) {
    const what = format ? `a ${formatName(format)} image` : 'not an image';
    throw new ImageFileError(name, 'not-an-image', `is ${what}; supported: ${formats.map(formatName).join(', ')}`);
  }
  const { width, height } = meta;
  if (!width || !height) throw new ImageFileError(name, 'corrupt', `the ${formatName(format)} header has no image size`);
  if (width * height > maxPixels) {
    const size = `${width}×${height} = ${fmtPixels(width * height)}, over the ${fmtPixels(maxPixels)} limit`;
    throw new ImageFileError(
      name,
      'too-large',
      options.purpose === 'photo'
        ? `is ${size} for photos; scale it down first`
        : `declares ${size} (decompression-bomb guard; raise --max-pixels if the image is genuine)`,
    );
  }
  return { format, width, height, channels: meta.channels ?? 3, orientation: meta.orientation ?? 1 };
}

/**
 * Opens a sharp pipeline that decodes strictly: a truncated or damaged file is an error, not grey
 * pixels (failOn 'error'; 'warning' would also refuse harmless oddities such as stray bytes between
 * JPEG markers). GIF/TIFF/WebP: the first frame. EXIF orientation applied.
 */
function open(input: Buffer, maxPixels: number) {
  return sharp(input, { failOn: 'error', limitInputPixels: maxPixels, pages: 1, page: 0 }).timeout({ seconds: 60 }).rotate();
}

/**
 * Decodes an image to `size`×`size` 8-bit sRGB RGB: scaled to cover the square and centre-cropped
 * (aligned face data is square already), EXIF orientation applied, greyscale expanded, CMYK and ICC
 * profiles converted, 16-bit reduced, alpha flattened onto mid-grey (0 in the model's [-1, 1] range,
 * so transparent areas carry no signal).
 */
export async function decodeRgb(input: Buffer, size: number, options: DecodeOptions = {}): Promise<RgbImage> {
  const name = options.name ?? 'image';
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  await probeImage(input, options);
  const out = await withSharpErrors(name, () =>
    open(input, maxPixels)
      .resize(size, size, { fit: 'cover', position: 'centre' })
      .flatten({ background: { r: 128, g: 128, b: 128 } })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true }),
  );
  return { data: toChannels(out.data, out.info.channels, 3, size * size, name), width: size, height: size };
}

/**
 * Decodes an image at its own size to 8-bit sRGB RGB, upright (EXIF orientation applied), alpha dropped,
 * greyscale expanded; the header is checked first (`probeImage`: format, pixel limit). What `readPhoto`
 * builds on. Returns the header (stored size, before rotation) with the pixels.
 */
export async function decodeRgbFull(input: Buffer, options: DecodeOptions = {}): Promise<{ image: RgbImage; header: ImageHeader }> {
  const name = options.name ?? 'image';
  const header = await probeImage(input, options);
  const out = await withSharpErrors(name, () =>
    open(input, options.maxPixels ?? DEFAULT_MAX_PIXELS)
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true }),
  );
  const { width, height, channels } = out.info;
  return { image: { data: toChannels(out.data, channels, 3, width * height, name), width, height }, header };
}

/**
 * Decodes a mask image (a user's mask file) to `size`×`size`, one 8-bit channel: 0 background,
 * 255 face region, values between kept as soft edges. Colour masks are converted to luminance,
 * alpha flattened onto black, resampled with a linear kernel (no ringing on hard edges).
 */
export async function decodeGrey(input: Buffer, size: number, options: DecodeOptions = {}): Promise<GreyImage> {
  const name = options.name ?? 'mask';
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  await probeImage(input, options);
  const out = await withSharpErrors(name, () =>
    open(input, maxPixels)
      .resize(size, size, { fit: 'cover', position: 'centre', kernel: 'linear' })
      .flatten({ background: { r: 0, g: 0, b: 0 } })
      .toColourspace('b-w')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true }),
  );
  return { data: toChannels(out.data, out.info.channels, 1, size * size, name), width: size, height: size };
}

/**
 * Decodes a label-index map (an FFHQ-Aging parsing PNG) at its own resolution, with no resampling or
 * colour management: the values are class indices. A colour or palette image is refused, since its
 * pixel values are colours, not indices.
 */
export async function decodeLabelMap(input: Buffer, options: DecodeOptions & { maxLabel?: number } = {}): Promise<GreyImage> {
  const name = options.name ?? 'label map';
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  await probeImage(input, options);
  const out = await withSharpErrors(name, () => open(input, maxPixels).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true }));
  const { width, height, channels } = out.info;
  const n = width * height;
  const labels = new Uint8Array(n);
  const src = out.data;
  for (let i = 0; i < n; i++) {
    const v = src[i * channels]!;
    if (channels >= 3 && (src[i * channels + 1] !== v || src[i * channels + 2] !== v)) {
      throw new ImageFileError(name, 'bad-mask', 'is a colour (or palette) image; a parsing map must be a single-channel PNG of class indices 0-18');
    }
    labels[i] = v;
  }
  if (options.maxLabel !== undefined) {
    let max = 0;
    for (let i = 0; i < n; i++) if (labels[i]! > max) max = labels[i]!;
    if (max > options.maxLabel)
      throw new ImageFileError(
        name,
        'bad-mask',
        `holds value ${max}, outside the class indices 0-${options.maxLabel}: not a label-index map (a visualisation?)`,
      );
  }
  return { data: labels, width, height };
}

/** Resizes a one-channel 8-bit raster to `size`×`size` (cover + centre crop, linear kernel). */
export async function resizeGrey(img: GreyImage, size: number): Promise<GreyImage> {
  if (img.width === size && img.height === size) return img;
  const out = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 1 } })
    .resize(size, size, { fit: 'cover', position: 'centre', kernel: 'linear' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: toChannels(out.data, out.info.channels, 1, size * size, 'mask'), width: size, height: size };
}

/** Convenience: read a file and decode it to `size`×`size` RGB. Throws ImageFileError naming the file. */
export async function loadImage(path: string, size: number, options: DecodeOptions & ReadFileOptions = {}): Promise<RgbImage> {
  const name = options.name ?? path;
  return decodeRgb(await readImageFile(path, { ...options, name }), size, { ...options, name });
}

/** sharp returns 1-4 channels depending on the input; give back exactly `want` (1 or 3). */
function toChannels(data: Buffer, have: number, want: 1 | 3, pixels: number, name: string): Uint8Array {
  if (data.length !== pixels * have) throw new ImageFileError(name, 'corrupt', `decoded to ${data.length} bytes, expected ${pixels * have}`);
  if (have === want) return new Uint8Array(data.buffer, data.byteOffset, data.length);
  const out = new Uint8Array(pixels * want);
  for (let i = 0; i < pixels; i++) {
    if (want === 1) out[i] = data[i * have]!;
    else if (have < 3) out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = data[i * have]!;
    else for (let c = 0; c < 3; c++) out[i * 3 + c] = data[i * have + c]!;
  }
  return out;
}

// libvips keeps one error buffer per process: when several decodes fail at once, one of them may see
// "Unknown error" (or another file's message). Such failures are retried one at a time for the real reason.
let serial: Promise<unknown> = Promise.resolve();
const noReason = (e: unknown) => /^(unknown error)?$/i.test(String((e as Error)?.message ?? '').trim());
async function withSharpErrors<T>(name: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch {
    let last: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const turn = serial.then(run);
      serial = turn.catch(() => undefined);
      try {
        return await turn;
      } catch (e) {
        last = e;
        if (!noReason(e)) break;
      }
    }
    throw sharpError(name, last);
  }
}

/** One line in words from a sharp/libvips error, so that no stack trace from inside sharp reaches the user. */
function sharpError(name: string, e: unknown): ImageFileError {
  if (e instanceof ImageFileError) return e;
  const msg = String((e as Error)?.message ?? e)
    .split('\n')[0]!
    .trim();
  if (/unsupported image format/i.test(msg))
    return new ImageFileError(name, 'not-an-image', 'is not an image (no JPEG, PNG, WebP, TIFF or GIF signature)', { cause: e });
  if (/buffer is empty/i.test(msg)) return new ImageFileError(name, 'empty', 'is empty (0 bytes)', { cause: e });
  if (/pixel limit/i.test(msg)) return new ImageFileError(name, 'too-large', 'is over the pixel limit (decompression-bomb guard)', { cause: e });
  if (/timeout/i.test(msg)) return new ImageFileError(name, 'corrupt', 'took over 60 s to decode', { cause: e });
  if (/premature end|truncat|unexpected end|end of (file|stream|data)|read error|not enough data/i.test(msg)) {
    return new ImageFileError(name, 'corrupt', `is truncated or damaged (${msg})`, { cause: e });
  }
  if (!msg || /^unknown error$/i.test(msg))
    return new ImageFileError(name, 'corrupt', 'is damaged: it cannot be decoded (libvips gave no reason)', { cause: e });
  return new ImageFileError(name, 'corrupt', `cannot be decoded (${msg})`, { cause: e });
}

function fmtBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} bytes`;
}

function fmtPixels(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(1)} gigapixels` : `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)} megapixels`;
}
