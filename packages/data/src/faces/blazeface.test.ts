import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '@ragan/core/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { readPhoto } from '../align/photo.js';
import { findPhotoFaces } from '../reage/reage-photo.js';
import { boxIoU, detectBlazeFace, detectFacesBlazeFace, loadBlazeFace, mergeDetections } from './blazeface.js';
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

  it('auto = SSD plus the faces only BlazeFace found, at its own threshold', () => {
    const face = (x: number, score: number): DetectedFace => ({ box: { x, y: 0, width: 100, height: 100 }, score, landmarks68: [] });
    const merged = mergeDetections([face(0, 0.9), face(300, 0.6)], [face(10, 0.95), face(600, 0.8), face(900, 0.7)], 0.75);
    // the BlazeFace box over SSD's first face is not added; the one at 900 is under 0.75
    expect(merged.map((f) => f.box.x)).toEqual([0, 600, 300]);
  });

  it("findPhotoFaces with the auto detector aligns the dark photo's faces for a model", async () => {
    const dark = darken(await sample('sample6.jpg'), 0.1);
    const photo = { image: dark, name: 'dark.jpg', orientation: 1, format: 'raw' } as unknown as Parameters<typeof findPhotoFaces>[0];
    const ssd = await findPhotoFaces(photo, 64, { detector: 'ssd' });
    const auto = await findPhotoFaces(photo, 64, { detector: 'auto' });
    expect(auto.faces.length).toBeGreaterThan(ssd.faces.length);
    for (const f of auto.faces) expect(f.size % 64).toBe(0);
  }, 120_000);
});
