/**
 * Face-detector recall on hard cases, and false faces on images without one (issue 22).
 *
 *   pnpm --filter @ragan/data exec tsx --conditions=@ragan/source bench/detector-recall.ts [--faces 100] [--offset 0] [--out FILE]
 *
 * The hard cases are made from UTKFace chips (../shared/data/utkface/UTKFace, read-only; nothing is
 * written but the JSON): a fixed sample of chips (every N-th of the sorted names, starting at
 * `--offset`: offsets 0 and 1 give disjoint samples, one to choose thresholds on, one to check them), each turned into
 * seven images: the chip itself (the face fills the frame), padded into a canvas three times its size,
 * shrunk to 48 px in a 640×480 canvas, rotated by 15-30° either way, darkened to a quarter, blurred
 * (σ 3), and JPEG-compressed at quality 8. The true face is the chip's own 68 landmarks (face-api's net
 * on the clean chip), carried through the same transform. A detection finds the face when the true eye
 * midpoint lies inside its box and the box is 0.4-2.5× the true face size. For each found face the
 * alignment error is the mean distance of the two eye centres from the true ones, in eye distances.
 * Images without a face: noise, gradients and stripes at 480 and 1024 px, and the parts of face-api's six
 * sample photos away from every face, 320 and 640 px tiles (MIT; in its npm package); BlazeFace runs on
 * tiles of an image from 512 px on a side, so the larger ones check that its extra passes add no false face.
 *
 * The detectors are measured as the photo pipeline runs them (`detectWith`): `ssd`, `blazeface` (two
 * passes, the image and a padded copy) and `auto` (SSD plus BlazeFace's confirmed faces: a score of 0.75,
 * eyes the landmark net agrees on, or the face mesh's yes).
 *
 * Writes bench/results/detector-recall.json (recall per detector and case, false faces, alignment error).
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { meanPoint } from '@ragan/core';
import { initNodeBackend } from '@ragan/core/node';
import {
  ALIGNED_FACE_BOXES,
  detectWith,
  faceApiPackageDir,
  landmarksInBox,
  loadFaceModels,
  readPhoto,
  type FaceDetector,
  type Point2,
  type RgbImage,
} from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
};
const FACES = Number(arg('faces', '100'));
const OFFSET = Number(arg('offset', '0'));
const OUT = resolve(arg('out', join(here, '..', '..', '..', 'bench', 'results', 'detector-recall.json')));
const UTK = resolve(here, '..', '..', '..', '..', 'shared', 'data', 'utkface', 'UTKFace');

type Case = 'tight' | 'padded' | 'small' | 'rotated' | 'dark' | 'blurred' | 'jpeg';
const CASES: Case[] = ['tight', 'padded', 'small', 'rotated', 'dark', 'blurred', 'jpeg'];

interface Hard {
  image: RgbImage;
  /** the true landmarks in the image */
  lm: Point2[];
}

const raw = async (s: sharp.Sharp): Promise<RgbImage> => {
  const { data, info } = await s.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
};
const eyes = (lm: Point2[]): [Point2, Point2] => [meanPoint(lm.slice(36, 42)), meanPoint(lm.slice(42, 48))];
const dist = (a: Point2, b: Point2) => Math.hypot(a[0] - b[0], a[1] - b[1]);

/** A deterministic draw in [0, 1) from a number. */
const draw = (k: number) => {
  const x = Math.sin(k * 12.9898 + 78.233) * 43758.5453;
  return x - Math.floor(x);
};

async function makeCase(file: string, chip: RgbImage, lm: Point2[], kind: Case, k: number): Promise<Hard> {
  const s = chip.width;
  const png = await sharp(Buffer.from(chip.data), { raw: { width: s, height: s, channels: 3 } })
    .png()
    .toBuffer();
  const map = (f: (p: Point2) => Point2) => lm.map(f);
  switch (kind) {
    case 'tight':
      return { image: chip, lm };
    case 'padded': {
      const W = 3 * s;
      const ox = Math.round(draw(k) * (W - s));
      const oy = Math.round(draw(k + 1) * (W - s));
      const image = await raw(
        sharp({ create: { width: W, height: W, channels: 3, background: { r: 110, g: 120, b: 100 } } }).composite([{ input: png, left: ox, top: oy }]),
      );
      return { image, lm: map(([x, y]) => [x + ox, y + oy]) };
    }
    case 'small': {
      const t = 48;
      const small = await sharp(png).resize(t, t).png().toBuffer();
      const ox = Math.round(draw(k) * (640 - t));
      const oy = Math.round(draw(k + 1) * (480 - t));
      const image = await raw(
        sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 90, g: 90, b: 95 } } }).composite([{ input: small, left: ox, top: oy }]),
      );
      return { image, lm: map(([x, y]) => [ox + (x * t) / s, oy + (y * t) / s]) };
    }
    case 'rotated': {
      const deg = (draw(k) < 0.5 ? -1 : 1) * (15 + 15 * draw(k + 1));
      const W = 2 * s;
      const padded = await sharp({ create: { width: W, height: W, channels: 3, background: { r: 128, g: 128, b: 128 } } })
        .composite([{ input: png, left: s / 2, top: s / 2 }])
        .png()
        .toBuffer();
      const rot = sharp(padded).rotate(deg, { background: { r: 128, g: 128, b: 128 } });
      const image = await raw(rot);
      // sharp rotates about the centre and grows the canvas to hold the rotated square
      const th = (deg * Math.PI) / 180;
      const c0 = W / 2;
      const c1: Point2 = [image.width / 2, image.height / 2];
      return {
        image,
        lm: map(([x, y]) => {
          const dx = x + s / 2 - c0;
          const dy = y + s / 2 - c0;
          return [c1[0] + dx * Math.cos(th) - dy * Math.sin(th), c1[1] + dx * Math.sin(th) + dy * Math.cos(th)];
        }),
      };
    }
    case 'dark':
      return { image: await raw(sharp(png).linear(0.25, 0)), lm };
    case 'blurred':
      return { image: await raw(sharp(png).blur(3)), lm };
    case 'jpeg':
      return { image: await raw(sharp(await sharp(png).jpeg({ quality: 8 }).toBuffer())), lm };
  }
  throw new Error(`${file}: unknown case ${kind}`);
}

interface Found {
  box: { x: number; y: number; width: number; height: number };
  lm: Point2[];
  score: number;
}

const squareAround = (b: Found['box'], grow = 1) => {
  const side = Math.max(b.width, b.height) * grow;
  return { x: b.x + b.width / 2 - side / 2, y: b.y + b.height / 2 - side / 2, width: side, height: side };
};

const DETECTORS = ['ssd', 'blazeface', 'auto'] as const satisfies readonly FaceDetector[];
type Det = (typeof DETECTORS)[number];

async function detect(det: Det, image: RgbImage): Promise<Found[]> {
  return (await detectWith(det, image, { minConfidence: 0.5 })).map((f) => ({ box: f.box, lm: f.landmarks68, score: f.score }));
}

/** The found face that matches the truth, if any. */
function match(found: Found[], truth: Point2[]): Found | undefined {
  const [l, r] = eyes(truth);
  const mid: Point2 = [(l[0] + r[0]) / 2, (l[1] + r[1]) / 2];
  const size = dist(l, r) * 2.6; // a face box is about 2.6 eye distances across
  return found.find((f) => {
    const g = 0.1 * f.box.width;
    const inside = mid[0] >= f.box.x - g && mid[0] <= f.box.x + f.box.width + g && mid[1] >= f.box.y - g && mid[1] <= f.box.y + f.box.height + g;
    const k = Math.max(f.box.width, f.box.height) / size;
    return inside && k >= 0.4 && k <= 2.5;
  });
}
const alignError = (f: Found, truth: Point2[]) => {
  const [a, b] = eyes(f.lm);
  const [l, r] = eyes(truth);
  return (dist(a, l) + dist(b, r)) / 2 / dist(l, r);
};

async function noFaceImages(): Promise<Array<{ name: string; image: RgbImage }>> {
  const out: Array<{ name: string; image: RgbImage }> = [];
  // at 480 px and at 1024 px (where BlazeFace also runs on tiles)
  for (const W of [480, 1024]) {
    const noise = new Uint8Array(W * W * 3).map((_, i) => Math.floor(draw(i) * 256));
    out.push({ name: `noise-${W}`, image: { data: noise, width: W, height: W } });
    const grad = new Uint8Array(W * W * 3).map((_, i) => Math.floor((((i / 3) % W) + Math.floor(i / 3 / W)) / 4) % 256);
    out.push({ name: `gradient-${W}`, image: { data: grad, width: W, height: W } });
    const stripes = new Uint8Array(W * W * 3).map((_, i) => (Math.floor(i / 3 / W / 12) % 2 ? 200 : 40));
    out.push({ name: `stripes-${W}`, image: { data: stripes, width: W, height: W } });
  }
  // the sample photos outside every face: tiles of 320 px, and of 640 px (tiled by BlazeFace), that hold
  // no face box of either detector
  for (const s of ['sample1.jpg', 'sample2.jpg', 'sample3.jpg', 'sample4.jpg', 'sample5.jpg', 'sample6.jpg']) {
    const photo = (await readPhoto(join(faceApiPackageDir(), 'demo', s))).image;
    const boxes = [...(await detect('ssd', photo)), ...(await detect('blazeface', photo))].map((f) => squareAround(f.box, 1.6));
    for (const T of [320, 640]) {
      for (let y = 0; y + T <= photo.height; y += T / 2) {
        for (let x = 0; x + T <= photo.width; x += T / 2) {
          if ((T === 320 && (x % T || y % T)) || boxes.some((b) => b.x < x + T && b.x + b.width > x && b.y < y + T && b.y + b.height > y)) continue;
          const tile = new Uint8Array(T * T * 3);
          for (let r = 0; r < T; r++) tile.set(photo.data.subarray(((y + r) * photo.width + x) * 3, ((y + r) * photo.width + x + T) * 3), r * T * 3);
          out.push({ name: `${s}@${x},${y}${T === 640 ? '/640' : ''}`, image: { data: tile, width: T, height: T } });
        }
      }
    }
  }
  return out;
}

await initNodeBackend({ backend: 'wasm', threads: 1, quiet: true });
await loadFaceModels({ detector: 'ssd', age: false, recognition: false });

const names = readdirSync(UTK)
  .filter((f) => /^\d+_[01]_\d_\d+\.jpg\.chip\.jpg$/.test(f))
  .sort();
const every = Math.max(2, Math.floor(names.length / FACES));
if (!(Number.isInteger(OFFSET) && OFFSET >= 0 && OFFSET < every)) throw new Error(`--offset must be an integer in [0, ${every})`);
const sample = names.filter((_, i) => i % every === OFFSET).slice(0, FACES);
const box = ALIGNED_FACE_BOXES['utkface-crop']!;
const stats: Record<string, { n: number; found: Record<Det, number>; align: Record<Det, number[]> }> = {};
const t0 = performance.now();
for (const [k, file] of sample.entries()) {
  const chip = (await readPhoto(join(UTK, file))).image;
  const lm = await landmarksInBox(chip, { x: box.x * chip.width, y: box.y * chip.height, width: box.width * chip.width, height: box.height * chip.height });
  for (const kind of CASES) {
    const hard = await makeCase(file, chip, lm, kind, (OFFSET * FACES + k) * 7 + CASES.indexOf(kind));
    const st = (stats[kind] ??= { n: 0, found: { ssd: 0, blazeface: 0, auto: 0 }, align: { ssd: [], blazeface: [], auto: [] } });
    st.n++;
    for (const det of DETECTORS) {
      const m = match(await detect(det, hard.image), hard.lm);
      if (!m) continue;
      st.found[det]++;
      st.align[det].push(alignError(m, hard.lm));
    }
  }
  if ((k + 1) % 10 === 0) process.stderr.write(`${k + 1}/${sample.length} chips, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
}
const falses: Record<Det, number> = { ssd: 0, blazeface: 0, auto: 0 };
const falseScores: Record<Det, Array<{ image: string; score: number }>> = { ssd: [], blazeface: [], auto: [] };
const empty = await noFaceImages();
for (const { name, image } of empty) {
  for (const det of DETECTORS) {
    const found = await detect(det, image);
    falses[det] += found.length;
    for (const f of found) falseScores[det].push({ image: name, score: Math.round(f.score * 1000) / 1000 });
  }
}
const median = (v: number[]) => (v.length ? [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]! : null);
const p90 = (v: number[]) => (v.length ? [...v].sort((a, b) => a - b)[Math.floor(v.length * 0.9)]! : null);
const per = <T>(f: (d: Det) => T) => Object.fromEntries(DETECTORS.map((d) => [d, f(d)])) as Record<Det, T>;
const total = { n: 0, found: per(() => 0) };
const rows = CASES.map((c) => {
  const s = stats[c]!;
  total.n += s.n;
  for (const d of DETECTORS) total.found[d] += s.found[d];
  return {
    case: c,
    images: s.n,
    recall: per((d) => s.found[d] / s.n),
    alignErrorMedian: per((d) => median(s.align[d])),
    alignErrorP90: per((d) => p90(s.align[d])),
  };
});
const result = {
  what: 'face-detector recall on hard cases made from UTKFace chips; false faces on images without one',
  date: new Date().toISOString(),
  chips: sample.length,
  offset: OFFSET,
  minConfidence: 0.5,
  cases: rows,
  overall: { images: total.n, recall: per((d) => total.found[d] / total.n) },
  noFace: { images: empty.length, falseFaces: falses, scores: falseScores },
  seconds: Math.round((performance.now() - t0) / 1000),
};
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result.overall), JSON.stringify(result.noFace.falseFaces));
for (const r of rows) console.log(r.case.padEnd(8), JSON.stringify(r.recall), 'align median', JSON.stringify(r.alignErrorMedian));
tf.disposeVariables();
