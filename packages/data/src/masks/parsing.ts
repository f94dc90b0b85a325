import { decodeLabelMap, readImageFile, resizeGrey, type DecodeOptions, type GreyImage } from '../images/decode.js';

/**
 * FFHQ-Aging / CelebAMask-HQ parsing classes in the face region [ours, docs/model.md]: 1 skin,
 * 2 nose, 3 eyeglasses, 4-5 eyes, 6-7 brows, 8-9 ears, 10 mouth, 11-12 lips, 13 hair, 17 neck.
 * Background: 0 background, 14 hat, 15 earring, 16 necklace, 18 cloth. Hair is in so that it can grey.
 */
export const FACE_REGION_CLASSES: readonly number[] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 17];
/** Highest class index in a parsing map (19 classes, 0-18). */
export const PARSING_MAX_CLASS = 18;

const FACE_LUT = (() => {
  const lut = new Uint8Array(256);
  for (const c of FACE_REGION_CLASSES) lut[c] = 255;
  return lut;
})();

/** Label indices → mask bytes: 255 for face-region classes, 0 for the rest. */
export function parsingToMask(labels: Uint8Array): Uint8Array {
  const out = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) out[i] = FACE_LUT[labels[i]!]!;
  return out;
}

/**
 * Reads an FFHQ-Aging parsing PNG and gives the face mask at `size`×`size` (the binary map is
 * resampled with a linear kernel, so edges are soft at small sizes). Throws ImageFileError
 * ('bad-mask' for colour maps or out-of-range classes) naming the file.
 */
export async function loadParsingMask(path: string, size: number, options: DecodeOptions = {}): Promise<GreyImage> {
  const name = options.name ?? path;
  const buf = await readImageFile(path, { name });
  const labels = await decodeLabelMap(buf, { ...options, name, maxLabel: PARSING_MAX_CLASS });
  return resizeGrey({ data: parsingToMask(labels.data), width: labels.width, height: labels.height }, size);
}
