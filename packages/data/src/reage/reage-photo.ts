import { extname } from 'node:path';
import sharp from 'sharp';
import {
  ConfigError,
  DatasetError,
  RaganError,
  getAgeGroupSet,
  pasteFaces,
  photoFace,
  reageCrops,
  reageCropsToTargets,
  type AgeTargetSpec,
  type Generator,
  type PasteFacesOptions,
  type PhotoFace,
  type PhotoFaceOptions,
  type ReageCropsOptions,
} from '@ragan/core';
import { readPhoto, type Photo } from '../align/photo.js';
import { detectionSize } from '../faces/detect.js';
import { checkRgbImage, type RgbImage } from '../faces/image.js';
import { detectWith, type FaceDetector } from '../faces/detectors.js';

/** Wall-clock milliseconds per stage; stages not run are absent. */
export interface ReageTimings {
  /** Decoding the photo (EXIF rotation included). */
  read?: number;
  /** Loading face-api's detector and landmark nets (first call in a process only) and detecting. */
  detect?: number;
  /** FFHQ-Aging alignment of every face and its landmark mask. */
  align?: number;
  /** The generator (resizing in and out included), all faces and targets. */
  reage?: number;
  /** Pasting the faces back into the photo. */
  paste?: number;
  /** Rendering the age grid. */
  grid?: number;
}

export interface FindFacesOptions extends PhotoFaceOptions {
  /**
   * Face detector. `ssd` (default): face-api's SSD MobileNetV1; `tiny`: faster, misses small faces;
   * `blazeface`: MediaPipe's BlazeFace (finds dark, blurred, rotated and frame-filling faces SSD misses,
   * but not faces under about 1/12 of the photo's longer side); `auto`: both, SSD's faces plus BlazeFace's
   * others at a score of at least max(minConfidence, AUTO_BLAZEFACE_MIN), or at least minConfidence where
   * face-api's landmarks agree with BlazeFace's eyes (AUTO_EYE_AGREEMENT).
   */
  detector?: FaceDetector;
  /** Minimum detector confidence. Default 0.5. */
  minConfidence?: number;
  /** At most this many faces, best score first. Default 100. */
  maxFaces?: number;
  /**
   * Detect on a copy of the photo scaled down to at most this many pixels (detectFaces' `maxPixels`);
   * the faces are aligned, re-aged and pasted back at the photo's own resolution. Default
   * DEFAULT_DETECT_MAX_PIXELS (4096²).
   */
  detectMaxPixels?: number;
}

/** The faces of a photo, ready for `reageCrops`. */
export interface PhotoFaces {
  photo: Photo;
  faces: PhotoFace[];
  /** The model resolution the crops were sized for. */
  resolution: number;
  /** The size the detector saw: the photo's, or a copy scaled down to `detectMaxPixels`. */
  detection: { width: number; height: number };
  timings: ReageTimings;
}

/**
 * Reads a photo (path, encoded bytes, or one already read with `readPhoto`), detects every face and
 * aligns each the FFHQ-Aging way at a multiple of `resolution` (see `maxCropSize`), with its landmark
 * mask. Uses the active tfjs backend (call initBackend first). `faces` is `[]` when there is none.
 */
export async function findPhotoFaces(input: string | Uint8Array | Photo, resolution: number, options: FindFacesOptions = {}): Promise<PhotoFaces> {
  if (!(Number.isInteger(resolution) && resolution >= 8)) throw new ConfigError('resolution', `must be a whole number ≥ 8, got ${resolution}`);
  const maxCrop = options.maxCropSize ?? 1024;
  if (!(Number.isInteger(maxCrop) && maxCrop >= resolution && maxCrop <= 4096)) {
    throw new ConfigError('maxCropSize', `must be a whole number from the model's resolution (${resolution}) to 4096, got ${maxCrop}`);
  }
  const timings: ReageTimings = {};
  let t = performance.now();
  const photo = typeof input === 'string' || input instanceof Uint8Array ? await readPhoto(input) : input;
  timings.read = performance.now() - t;
  t = performance.now();
  let detected;
  try {
    detected = await detectWith(options.detector ?? 'ssd', photo.image, {
      ...(options.minConfidence !== undefined ? { minConfidence: options.minConfidence } : {}),
      ...(options.maxFaces !== undefined ? { maxFaces: options.maxFaces } : {}),
      ...(options.detectMaxPixels !== undefined ? { maxPixels: options.detectMaxPixels } : {}),
    });
  } catch (e) {
    if (RaganError.isInstance(e)) throw e;
    throw new DatasetError(photo.name, `face detection failed (${(e as Error).message})`, { cause: e });
  }
  timings.detect = performance.now() - t;
  t = performance.now();
  const faces = detected.map((f) => photoFace(photo.image, f, resolution, options));
  timings.align = performance.now() - t;
  return { photo, faces, resolution, detection: detectionSize(photo.image.width, photo.image.height, options.detectMaxPixels), timings };
}

export interface ReagePhotoOptions extends FindFacesOptions, Omit<ReageCropsOptions, 'blendWithMask'>, PasteFacesOptions {}

export interface ReagePhotoResult extends PhotoFaces {
  /** The photo (upright, its own size) with every face re-aged. */
  image: RgbImage;
}

/**
 * The whole pipeline for one target: read, detect, align, re-age, paste back. With no face, `image` is
 * a copy of the photo and `faces` is `[]` (the caller decides whether that is an error).
 */
export async function reagePhoto(
  generator: Generator,
  input: string | Uint8Array | Photo,
  target: AgeTargetSpec,
  options: ReagePhotoOptions = {},
): Promise<ReagePhotoResult> {
  const found = await findPhotoFaces(input, generator.config.resolution, { ...generator.config.alignment, ...options });
  let t = performance.now();
  const crops = await reageCrops(generator, found.faces, target, options);
  found.timings.reage = performance.now() - t;
  t = performance.now();
  const image = pasteFaces(found.photo.image, found.faces, crops, options);
  found.timings.paste = performance.now() - t;
  return { ...found, image };
}

export interface AgeGridOptions extends Omit<ReageCropsOptions, 'blendWithMask'> {
  /** Side of each cell in pixels. Default: the model's resolution, at least 160 and at most 256. */
  cell?: number;
  /** Draw the header row with the group labels (needs fonts for sharp's SVG text). Default true. */
  labels?: boolean;
}

export interface AgeGrid {
  png: Buffer;
  width: number;
  height: number;
  cell: number;
  /** Height of the header row (0 without labels). */
  header: number;
  /** Column titles, left to right: "input", then every age group youngest first. */
  columns: string[];
}

const HEADER = 28;
const BG = { r: 24, g: 24, b: 26 };

/**
 * The all-ages grid: a row per face, the input crop first, then the face re-aged to every age group
 * (youngest left), each cell the aligned crop with only the face region changed. Width is
 * (groups + 1) × cell; a header row names the columns.
 */
export async function renderAgeGrid(generator: Generator, faces: readonly PhotoFace[], options: AgeGridOptions = {}): Promise<AgeGrid> {
  const res = generator.config.resolution;
  const cell = options.cell ?? Math.min(256, Math.max(160, res));
  if (!(Number.isInteger(cell) && cell >= 16 && cell <= 1024)) throw new ConfigError('cell', `must be a whole number from 16 to 1024, got ${cell}`);
  const groups = getAgeGroupSet(generator.config.ageGroups).groups;
  const columns = ['input', ...groups.map((g) => g.label)];
  const header = options.labels === false ? 0 : HEADER;
  const width = columns.length * cell;
  const height = header + faces.length * cell;
  // Cells are small: shrink big crops first (to the multiple of the model's side nearest the cell), so
  // the K generator passes do not resize and blend full-size crops only to shrink them afterwards.
  const display = Math.max(1, Math.round(cell / res)) * res;
  const shown = await Promise.all(faces.map((f) => (f.size > display ? shrinkFace(f, display) : f)));
  const rows: RgbImage[][] = faces.map((f) => [f.crop]);
  const aged = await reageCropsToTargets(
    generator,
    shown,
    groups.map((_, g) => ({ group: g })),
    { ...options, blendWithMask: true },
  );
  for (const perFace of aged) perFace.forEach((img, i) => rows[i]!.push(img));
  const composites: sharp.OverlayOptions[] = [];
  for (const [r, row] of rows.entries()) {
    for (const [c, img] of row.entries()) {
      const input = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
        .resize(cell, cell, { kernel: img.width < cell ? 'cubic' : 'lanczos3' })
        .png({ compressionLevel: 1 })
        .toBuffer();
      composites.push({ input, left: c * cell, top: header + r * cell });
    }
  }
  if (header > 0) {
    const texts = columns.map(
      (label, c) =>
        `<text x="${c * cell + cell / 2}" y="${header - 8}" text-anchor="middle" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="15" ` +
        `font-weight="${c === 0 ? 'normal' : 'bold'}" fill="${c === 0 ? '#b0b0b0' : '#ffffff'}">${escapeXml(label)}</text>`,
    );
    composites.push({
      input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${header}">${texts.join('')}</svg>`),
      left: 0,
      top: 0,
    });
  }
  const png = await sharp({ create: { width, height, channels: 3, background: BG } })
    .composite(composites)
    .png({ compressionLevel: 6 })
    .toBuffer();
  return { png, width, height, cell, header, columns };
}

/** The face at a smaller `size` (crop and mask resampled with sharp; transforms not updated: display only). */
async function shrinkFace(f: PhotoFace, size: number): Promise<PhotoFace> {
  const crop = await sharp(f.crop.data, { raw: { width: f.size, height: f.size, channels: 3 } })
    .resize(size, size, { kernel: 'lanczos3' })
    .raw()
    .toBuffer();
  const mask = await sharp(f.mask, { raw: { width: f.size, height: f.size, channels: 1 } })
    .resize(size, size, { kernel: 'lanczos3' })
    .extractChannel(0)
    .raw()
    .toBuffer();
  return { ...f, size, crop: { data: new Uint8Array(crop), width: size, height: size }, mask: new Uint8Array(mask) };
}

const escapeXml = (s: string) => s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

/** Output formats `encodeImageFor` picks from a file name. */
export const OUTPUT_IMAGE_FORMATS = ['.png', '.jpg', '.jpeg', '.webp'] as const;

/**
 * Encodes an image for the file name's extension: PNG (lossless; default), JPEG (quality 92) or WebP
 * (quality 92). Pixels are stored upright with no EXIF orientation, so every viewer shows them as seen.
 */
export async function encodeImageFor(path: string, image: RgbImage): Promise<Buffer> {
  checkRgbImage(image, path);
  const ext = extname(path).toLowerCase();
  const s = sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
  if (ext === '.png' || ext === '') return s.png().toBuffer();
  if (ext === '.jpg' || ext === '.jpeg') return s.jpeg({ quality: 92, chromaSubsampling: '4:4:4' }).toBuffer();
  if (ext === '.webp') return s.webp({ quality: 92 }).toBuffer();
  throw new ConfigError('out', `${path}: unknown image type "${ext}"; use ${OUTPUT_IMAGE_FORMATS.join(', ')}`);
}
