/**
 * Real faces that need no data set: 66 face chips (200×200 JPEG, the size of UTKFace's crops) cut from
 * the six sample photos in @vladmandic/face-api's npm package (`demo/sample1.jpg` … `sample6.jpg`, MIT
 * licence), which @ragan/data depends on. Each of the 22 faces is cut three ways: around the detector's
 * box, the same mirrored, and zoomed out. The chips are named like UTKFace files
 * (`age_gender_race_date.jpg.chip.jpg`) with made-up ages spread over every age group, so the UTKFace
 * reader, caches, samplers and training runs take them as they are. Their ages are labels for the
 * mechanics, not the people's ages: tests that need true ages or UTKFace's framing use UTKFace itself
 * (`@ragan/data`'s src/testing/utkface.ts).
 *
 * Built once into node_modules/.cache/ (about 0.7 MB) and reused by every test process.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

/** The repository root (this file is packages/test-utils/src/sample-faces.ts). */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The faces of face-api's sample photos: SSD's boxes [x, y, width, height] at min confidence 0.5. */
const FACES: ReadonlyArray<readonly [photo: number, box: readonly [number, number, number, number]]> = [
  [1, [414, 355, 177, 240]],
  [1, [838, 421, 186, 228]],
  [1, [1476, 199, 203, 241]],
  [2, [1447, 153, 194, 242]],
  [2, [902, 220, 151, 233]],
  [2, [361, 126, 153, 259]],
  [3, [585, 329, 199, 271]],
  [3, [1514, 292, 170, 280]],
  [3, [1075, 215, 220, 299]],
  [4, [664, 53, 187, 258]],
  [4, [257, 185, 162, 245]],
  [4, [989, 180, 169, 227]],
  [4, [1277, 144, 145, 244]],
  [5, [787, 109, 156, 212]],
  [5, [1113, 198, 158, 236]],
  [5, [1406, 390, 165, 271]],
  [5, [598, 415, 166, 249]],
  [5, [377, 859, 172, 301]],
  [6, [681, 321, 160, 307]],
  [6, [1180, 305, 188, 280]],
  [6, [1487, 263, 212, 296]],
  [6, [250, 468, 210, 291]],
];

/** Crop side as a multiple of the box's longer side, per variant: plain, mirrored, zoomed out. */
const VARIANTS = [
  { scale: 1.3, mirror: false },
  { scale: 1.3, mirror: true },
  { scale: 1.7, mirror: false },
] as const;

/** Made-up ages, two per age group of ffhq-aging-10 (0-2, 3-6, 7-9, 10-14, 15-19, 20-29, 30-39, 40-49, 50-69, 70+). */
const AGES = [1, 4, 8, 12, 17, 25, 34, 45, 58, 76, 2, 6, 9, 14, 19, 22, 38, 41, 66, 85];

/** Number of chips. */
export const SAMPLE_FACE_CHIPS = FACES.length * VARIANTS.length;

/** Chip `i`'s UTKFace-style name. */
export function sampleChipName(i: number): string {
  return `${AGES[i % AGES.length]}_${i % 2}_${i % 5}_20170101${String(i).padStart(9, '0')}.jpg.chip.jpg`;
}

// Bump when the chips change, so that an old cache is not reused.
const CACHE = join(REPO_ROOT, 'node_modules/.cache/ragan-sample-faces-v1');

/** The `demo/` folder of face-api's package (a dependency of this one, as of @ragan/data). */
export function faceApiDemoDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')), 'demo');
}

/**
 * Writes face-api's demo/sample6.jpg (MIT: four women side by side) to `path`, 960 px wide, stored rotated
 * 90° counter-clockwise with EXIF orientation 6: only a reader that honours the tag sees upright faces
 * (a 960×769 photo).
 */
export async function writeRotatedSample6(path: string): Promise<void> {
  await sharp(join(faceApiDemoDir(), 'sample6.jpg')).resize(960).rotate(-90).withMetadata({ orientation: 6 }).jpeg({ quality: 90 }).toFile(path);
}

/**
 * Writes face-api's demo/sample6.jpg (MIT: four women side by side) darkened to a tenth of its brightness
 * as a PNG (lossless, so the dark values are exact): SSD alone misses faces there that BlazeFace finds.
 */
export async function writeDarkSample6(path: string): Promise<void> {
  await sharp(join(faceApiDemoDir(), 'sample6.jpg')).linear(0.1, 0).png().toFile(path);
}

async function build(): Promise<string> {
  if (existsSync(CACHE)) return CACHE;
  mkdirSync(dirname(CACHE), { recursive: true });
  // Written aside and renamed into place: test processes build it at the same time; the first rename wins.
  const tmp = mkdtempSync(`${CACHE}.tmp-`);
  try {
    const demo = faceApiDemoDir();
    for (let i = 0; i < SAMPLE_FACE_CHIPS; i++) {
      const [photo, [x, y, w, h]] = FACES[i % FACES.length]!;
      const v = VARIANTS[Math.floor(i / FACES.length)]!;
      const file = join(demo, `sample${photo}.jpg`);
      const { width, height } = await sharp(file).metadata();
      const side = Math.min(Math.round(v.scale * Math.max(w, h)), width!, height!);
      const left = Math.min(Math.max(0, Math.round(x + w / 2 - side / 2)), width! - side);
      const top = Math.min(Math.max(0, Math.round(y + h / 2 - side / 2)), height! - side);
      let chip = sharp(file).extract({ left, top, width: side, height: side }).resize(200, 200);
      if (v.mirror) chip = chip.flop();
      await chip.jpeg({ quality: 90 }).toFile(join(tmp, sampleChipName(i)));
    }
    try {
      renameSync(tmp, CACHE);
    } catch (e) {
      if (!existsSync(CACHE)) throw e;
    }
    return CACHE;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

let building: Promise<string> | undefined;

/** The folder of chips (read-only: copy what you change). */
export function sampleFaceChips(): Promise<string> {
  building ??= build();
  return building;
}

/** `n` chip names spread evenly over the sorted folder (so that every age group occurs). */
export async function pickSampleChips(n: number): Promise<string[]> {
  if (!(n >= 1 && n <= SAMPLE_FACE_CHIPS)) throw new RangeError(`there are ${SAMPLE_FACE_CHIPS} sample face chips, asked for ${n}`);
  const all = readdirSync(await sampleFaceChips()).sort();
  const step = all.length / n;
  return Array.from({ length: n }, (_, i) => all[Math.floor(i * step)]!);
}
