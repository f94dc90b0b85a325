import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '@ragan/core/node';
import { sampleFaceChips } from '@ragan/test-utils/sample-faces';
import { beforeAll, describe, expect, it } from 'vitest';
import { readPhoto } from '../align/photo.js';
import { findPhotoFaces } from '../reage/reage-photo.js';
import { boxIoU, detectBlazeFace, detectFacesBlazeFace, loadBlazeFace, loadFaceMesh, meshScoreOf } from './blazeface.js';
import sharp from 'sharp';
import { autoKeepsBlazeFace } from '@ragan/core';
import { detectWith } from './detectors.js';
import { detectFaces, type DetectedFace } from './detect.js';
import { faceApiPackageDir } from './face-api.js';
import type { RgbImage } from './image.js';
import { loadFaceModels } from './models.js';

const sample = async (name: string) => (await readPhoto(join(faceApiPackageDir(), 'demo', name))).image;

/** A copy with every value multiplied by `k` (a dark photo). */
const darken = (img: RgbImage, k: number): RgbImage => ({ ...img, data: img.data.map((v) => Math.round(v * k)) });

beforeAll(async () => {
  await initNodeBackend({ backend: 'wasm', quiet: true });
  await loadFaceModels({ detector: 'ssd', age: false, recognition: false });
  await loadBlazeFace();
}, 120_000);

describe('BlazeFace (MediaPipe, from @vladmandic/human)', () => {
  it("finds every face SSD finds on face-api's sample photos, eyes inside the box, and leaks no tensor", async () => {
    for (const name of ['sample1.jpg', 'sample3.jpg', 'sample6.jpg']) {
      const img = await sample(name);
      const ssd = await detectFaces(img);
      const before = tf.memory().numTensors;
      const blaze = await detectBlazeFace(img);
      expect(tf.memory().numTensors).toBe(before);
      expect(ssd.length, name).toBeGreaterThanOrEqual(3);
      for (const s of ssd) expect(Math.max(...blaze.map((b) => boxIoU(s.box, b.box))), name).toBeGreaterThan(0.3);
      for (const b of blaze) {
        expect(b.score).toBeGreaterThanOrEqual(0.5);
        for (const [x, y] of b.keypoints.slice(0, 2)) {
          expect(x).toBeGreaterThan(b.box.x);
          expect(x).toBeLessThan(b.box.x + b.box.width);
          expect(y).toBeGreaterThan(b.box.y);
          expect(y).toBeLessThan(b.box.y + b.box.height);
        }
      }
    }
  }, 120_000);

  it('finds the faces of a photo darkened to a tenth, which SSD misses, with landmarks on the eyes', async () => {
    const bright = await sample('sample6.jpg');
    const img = darken(bright, 0.1);
    const ssdBright = await detectFaces(bright);
    const ssdDark = await detectFaces(img);
    const blaze = await detectFacesBlazeFace(img);
    expect(ssdDark.length).toBeLessThan(ssdBright.length);
    expect(blaze.length).toBeGreaterThan(ssdDark.length);
    // the landmarks found in the dark photo sit where SSD's are in the bright one (eye centres within 15 % of the eye distance)
    const eyes = (f: DetectedFace) => [36, 42].map((a) => [0, 1].map((c) => f.landmarks68.slice(a, a + 6).reduce((s, p) => s + p[c]!, 0) / 6));
    let matched = 0;
    for (const ref of ssdBright) {
      const b = blaze.find((f) => boxIoU(f.box, ref.box) > 0.3);
      if (!b) continue;
      matched++;
      const [r0, r1] = eyes(ref);
      const [b0, b1] = eyes(b);
      const eyeDist = Math.hypot(r0![0]! - r1![0]!, r0![1]! - r1![1]!);
      expect(Math.hypot(b0![0]! - r0![0]!, b0![1]! - r0![1]!) / eyeDist).toBeLessThan(0.15);
      expect(Math.hypot(b1![0]! - r1![0]!, b1![1]! - r1![1]!) / eyeDist).toBeLessThan(0.15);
    }
    expect(matched).toBe(blaze.length);
  }, 120_000);

  it('finds the frame-filling faces SSD misses in face-api sample chips (the padded pass), and no face in noise', async () => {
    const dir = await sampleFaceChips();
    // chips SSD finds no face in; the first one BlazeFace scores only 0.73 without room around the face
    const names = ['76_1_4_20170101000000049.jpg.chip.jpg'];
    for (const f of readdirSync(dir).sort()) {
      if (names.length >= 6) break;
      if (!f.endsWith('.jpg') || names.includes(f)) continue;
      if ((await detectFaces((await readPhoto(join(dir, f))).image)).length === 0) names.push(f);
    }
    expect(names.length).toBe(6);
    for (const name of names) {
      const img = (await readPhoto(join(dir, name))).image;
      const onePass = await detectFacesBlazeFace(img, { pad: 0 });
      const auto = await detectWith('auto', img);
      expect(auto.length, name).toBeGreaterThanOrEqual(1);
      if (name === names[0]) expect(Math.max(...onePass.map((b) => b.score))).toBeLessThan(0.75);
    }
    const W = 320;
    const noise: RgbImage = { data: new Uint8Array(W * W * 3).map((_, i) => (i * 2654435761) >>> 24), width: W, height: W };
    expect(await detectWith('auto', noise)).toEqual([]);
  }, 120_000);

  it('the face mesh rescues faces BlazeFace is unsure of (a blurred and a darkened chip) and turns down boxes on clothes', async () => {
    const dir = await sampleFaceChips();
    const raw = async (s: sharp.Sharp): Promise<RgbImage> => {
      const { data, info } = await s.removeAlpha().raw().toBuffer({ resolveWithObject: true });
      return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
    };
    const cases = [
      { name: '38_0_1_20170101000000056.jpg.chip.jpg', image: await raw(sharp(join(dir, '38_0_1_20170101000000056.jpg.chip.jpg')).blur(3)) },
      { name: '45_1_2_20170101000000027.jpg.chip.jpg', image: await raw(sharp(join(dir, '45_1_2_20170101000000027.jpg.chip.jpg')).linear(0.25, 0)) },
    ];
    await loadFaceMesh();
    for (const { name, image } of cases) {
      // SSD finds nothing, and no BlazeFace face passes the score or eye rules (what `auto` kept before the mesh)
      expect(await detectFaces(image), name).toEqual([]);
      const blaze = await detectFacesBlazeFace(image);
      expect(blaze.length, name).toBeGreaterThan(0);
      expect(
        blaze.some((b) => autoKeepsBlazeFace(b)),
        name,
      ).toBe(false);
      const before = tf.memory().numTensors;
      const scores = await Promise.all(blaze.map((b) => meshScoreOf(image, b)));
      expect(tf.memory().numTensors).toBe(before);
      expect(Math.max(...scores), name).toBeGreaterThan(0.5);
      const auto = await detectWith('auto', image);
      expect(auto, name).toHaveLength(1);
      // the face is the chip's: its box holds the chip's centre
      const b = auto[0]!.box;
      expect(b.x < 100 && b.x + b.width > 100 && b.y < 100 && b.y + b.height > 100, name).toBe(true);
    }
    // boxes the size of a face on sample1.jpg's clothes and background (below and beside the people): the mesh says no
    const photo = await sample('sample1.jpg');
    const keypoints = (x: number, y: number, s: number): Array<[number, number]> => [
      [x + 0.3 * s, y + 0.35 * s],
      [x + 0.7 * s, y + 0.35 * s],
      [x + 0.5 * s, y + 0.55 * s],
      [x + 0.5 * s, y + 0.75 * s],
      [x, y + 0.4 * s],
      [x + s, y + 0.4 * s],
    ];
    for (const [x, y] of [
      [400, 960],
      [1300, 900],
      [20, 20],
    ] as const) {
      const s = 180;
      expect(await meshScoreOf(photo, { box: { x, y, width: s, height: s }, keypoints: keypoints(x, y, s) }), `${x},${y}`).toBeLessThan(0.5);
    }
    // and a true face of the same photo (SSD's) scores high
    const face = (await detectFaces(photo))[0]!;
    const f = face.box;
    expect(await meshScoreOf(photo, { box: f, keypoints: keypoints(f.x, f.y, f.width) })).toBeGreaterThan(0.9);
  }, 120_000);

  it("findPhotoFaces with the auto detector aligns the dark photo's faces for a model", async () => {
    const dark = darken(await sample('sample6.jpg'), 0.1);
    const photo = { image: dark, name: 'dark.jpg', orientation: 1, format: 'raw' } as unknown as Parameters<typeof findPhotoFaces>[0];
    const ssd = await findPhotoFaces(photo, 64, { detector: 'ssd' });
    const auto = await findPhotoFaces(photo, 64, { detector: 'auto' });
    expect(auto.faces.length).toBeGreaterThan(ssd.faces.length);
    for (const f of auto.faces) expect(f.size % 64).toBe(0);
  }, 120_000);

  it("a photo over maxPixels: BlazeFace's boxes and keypoints come back in the photo's coordinates", async () => {
    const img = await sample('sample6.jpg');
    const full = await detectFacesBlazeFace(img);
    const scaled = await detectFacesBlazeFace(img, { maxPixels: Math.floor((img.width * img.height) / 4) });
    expect(scaled.length).toBe(full.length);
    for (const f of scaled) {
      const ref = full.find((g) => boxIoU(g.box, f.box) > 0.5)!;
      expect(ref).toBeDefined();
      const eye = Math.hypot(ref.keypoints[0]![0] - ref.keypoints[1]![0], ref.keypoints[0]![1] - ref.keypoints[1]![1]);
      // the six keypoints within 10 % of the eye distance of the full-resolution ones (not left at half scale)
      f.keypoints.forEach((p, k) => expect(Math.hypot(p[0] - ref.keypoints[k]![0], p[1] - ref.keypoints[k]![1]) / eye).toBeLessThan(0.1));
    }
  }, 120_000);
});
