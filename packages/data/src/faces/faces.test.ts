import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '@ragan/core/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_UTKFACE, utkFaceRoot } from '../testing/utkface.js';
import { faceChipsDir } from '../testing/fixtures.js';
import { sampleChipName } from '@ragan/test-utils/sample-faces';
import { faceApiAgeEstimator, faceApiEmbedder } from './adapters.js';
import { estimateAge } from './age.js';
import { detectFaces, type DetectedFace } from './detect.js';
import { descriptorDistance, faceEmbedding } from './embedding.js';
import { faceApiPackageDir, getFaceApi } from './face-api.js';
import type { RgbImage } from './image.js';
import { ALIGNED_FACE_BOXES, landmarkMaskProvider, NoFaceError, plausibleAlignedLandmarks } from './mask-provider.js';
import { landmarksInBox } from './detect.js';
import { syntheticLandmarks68 } from '@ragan/test-utils/photos';
import { disposeFaceModels, loadFaceModels } from './models.js';
import { findPhotoFaces } from '../reage/reage-photo.js';

const utkDir = join(utkFaceRoot(), 'crop_part1');

async function readRgb(path: string): Promise<RgbImage> {
  const { data, info } = await sharp(path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Face chip `i` of face-api's sample photos (200×200; chips 0-21 are 22 different people). */
const chip = async (i: number): Promise<string> => join(await faceChipsDir(), sampleChipName(i));

/** UTKFace chips spread over the (sorted) folder: different people, ages 1-100. */
function utkSample(n: number, offset: number): Array<{ path: string; age: number }> {
  const names = readdirSync(utkDir)
    .filter((f) => f.endsWith('.jpg'))
    .sort();
  const step = Math.floor(names.length / n);
  return Array.from({ length: n }, (_, i) => names[i * step + offset]!).map((f) => ({ path: join(utkDir, f), age: Number(f.split('_')[0]) }));
}

beforeAll(async () => {
  await initNodeBackend({ backend: 'wasm', quiet: true });
  await loadFaceModels({ detector: 'ssd' });
});
afterAll(() => disposeFaceModels());

describe('face-api loading', () => {
  it('shares our tfjs engine (one engine in the process)', () => {
    expect(getFaceApi().tf.engine()).toBe(tf.engine());
  });

  it('loads from disk, and a second call reuses the cache', async () => {
    const before = tf.memory().numTensors;
    const t = Date.now();
    await loadFaceModels({ detector: 'ssd' });
    expect(Date.now() - t).toBeLessThan(200);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('says which file is missing', async () => {
    disposeFaceModels();
    await expect(loadFaceModels({ modelDir: '/nonexistent/models' })).rejects.toThrow(/\/nonexistent\/models\/\w+-weights_manifest\.json: cannot read/);
    disposeFaceModels();
    await loadFaceModels({ detector: 'ssd' });
  });
});

describe('detectFaces', () => {
  let group: DetectedFace[] = [];

  it('finds the 4 faces of face-api demo/sample6.jpg', async () => {
    // Counted by eye: four women side by side, all frontal.
    const img = await readRgb(join(faceApiPackageDir(), 'demo', 'sample6.jpg'));
    const before = tf.memory().numTensors;
    const t = Date.now();
    group = await detectFaces(img);
    console.log(`detectFaces: ${img.width}x${img.height} photo, ${group.length} faces, ${Date.now() - t} ms (ssd, wasm, first call)`);
    expect(tf.memory().numTensors).toBe(before);
    expect(group.length).toBe(4);
    for (const f of group) {
      expect(f.score).toBeGreaterThan(0.5);
      expect(f.landmarks68.length).toBe(68);
      expect(f.box.width).toBeGreaterThan(100);
    }
    // four distinct faces, left to right across the photo
    const xs = group.map((f) => f.box.x + f.box.width / 2).sort((a, b) => a - b);
    for (let i = 1; i < xs.length; i++) expect(xs[i]! - xs[i - 1]!).toBeGreaterThan(150);
  });

  it.skipIf(NO_UTKFACE)('puts the landmarks of a UTKFace chip where a face is', async () => {
    const { path } = utkSample(1, 3)[0]!;
    const faces = await detectFaces(await readRgb(path), { pad: 1, minConfidence: 0.3 });
    expect(faces.length).toBeGreaterThanOrEqual(1);
    const L = faces[0]!.landmarks68;
    const mean = (a: number, b: number) => {
      const s = L.slice(a, b);
      return [s.reduce((t, p) => t + p[0], 0) / s.length, s.reduce((t, p) => t + p[1], 0) / s.length] as const;
    };
    const eyeL = mean(36, 42);
    const eyeR = mean(42, 48);
    const mouth = mean(48, 68);
    for (const [x, y] of L) {
      expect(x).toBeGreaterThan(-10);
      expect(x).toBeLessThan(210);
      expect(y).toBeGreaterThan(-10);
      expect(y).toBeLessThan(210);
    }
    expect(eyeL[0]).toBeLessThan(eyeR[0]); // subject's right eye (36-41) on the image's left
    expect(eyeL[1]).toBeLessThan(mouth[1]);
    expect(eyeR[1]).toBeLessThan(mouth[1]);
    expect(L[8]![1]).toBeGreaterThan(mouth[1]); // chin below the mouth
    // UTKFace chips are aligned: eyes roughly level, in the upper half, centred
    expect(Math.abs(eyeL[1] - eyeR[1])).toBeLessThan(15);
    expect((eyeL[1] + eyeR[1]) / 2).toBeLessThan(110);
    expect(Math.abs((eyeL[0] + eyeR[0]) / 2 - 100)).toBeLessThan(20);
  });

  it("a photo over maxPixels is detected on a copy scaled down, with boxes and landmarks in the photo's coordinates", async () => {
    expect(group.length).toBe(4); // the full-resolution faces of the first test
    const img = await readRgb(join(faceApiPackageDir(), 'demo', 'sample6.jpg'));
    const maxPixels = Math.floor((img.width * img.height) / 4);
    const photo = { image: img, orientation: 1, storedWidth: img.width, storedHeight: img.height, name: 'sample6' };
    const found = await findPhotoFaces(photo, 64, { detectMaxPixels: maxPixels });
    expect(found.detection.width * found.detection.height).toBeLessThanOrEqual(maxPixels);
    expect(found.detection.width).toBeGreaterThan(img.width / 2 - 2);
    expect(found.detection.width / found.detection.height).toBeCloseTo(img.width / img.height, 2);
    expect(found.faces.length).toBe(4);
    for (const f of found.faces) {
      // the same face at full resolution: landmarks within 4 % of its eye distance on average
      const ref = group.find((g) => Math.abs(g.box.x - f.box.x) < g.box.width / 4)!;
      expect(ref).toBeDefined();
      const eye = Math.hypot(ref.landmarks68[36]![0] - ref.landmarks68[45]![0], ref.landmarks68[36]![1] - ref.landmarks68[45]![1]);
      const err = f.landmarks.reduce((t, p, i) => t + Math.hypot(p[0] - ref.landmarks68[i]![0], p[1] - ref.landmarks68[i]![1]), 0) / 68;
      expect(err / eye).toBeLessThan(0.04);
      expect(Math.abs(f.box.width - ref.box.width) / ref.box.width).toBeLessThan(0.1);
      // the crop is cut from the full-resolution photo
      expect(f.size).toBeGreaterThanOrEqual(64);
    }
    // within the limit: the photo itself
    const whole = await findPhotoFaces(photo, 64);
    expect(whole.detection).toEqual({ width: img.width, height: img.height });
  });

  it('finds nothing on a flat grey image', async () => {
    const grey: RgbImage = { data: new Uint8Array(320 * 240 * 3).fill(128), width: 320, height: 240 };
    expect(await detectFaces(grey)).toEqual([]);
  });
});

describe.skipIf(NO_UTKFACE)('estimateAge', () => {
  it('gives plausible ages for 20 UTKFace chips of known age (MAE < 15 years)', async () => {
    const sample = utkSample(20, 5);
    const images = await Promise.all(sample.map((s) => readRgb(s.path)));
    const before = tf.memory().numTensors;
    const t = Date.now();
    const ages = await estimateAge(images, { region: 'full' });
    const ms = Date.now() - t;
    expect(tf.memory().numTensors).toBe(before);
    expect(ages.length).toBe(20);
    const mae = ages.reduce((s, a, i) => s + Math.abs(a - sample[i]!.age), 0) / ages.length;
    console.log(`estimateAge: MAE ${mae.toFixed(2)} years over ${ages.length} UTKFace chips (true ${sample.map((s) => s.age).join(',')}); ${ms} ms`);
    expect(mae).toBeLessThan(15);
    // a tensor batch in [-1, 1] gives the same answers as the images
    const batch = tf.tidy(
      () => tf.sub(tf.div(tf.tensor4d(Float32Array.from(Buffer.concat(images.slice(0, 3).map((i) => i.data))), [3, 200, 200, 3]), 127.5), 1) as tf.Tensor4D,
    );
    const fromTensor = await faceApiAgeEstimator({ region: 'full' }).estimate(batch);
    batch.dispose();
    fromTensor.forEach((a, i) => expect(a).toBeCloseTo(ages[i]!, 0));
  });
});

describe('landmarksInBox on dim photos', () => {
  it('a face darkened to a quarter: its eyes are found as on the face as it is (the dark crop is brightened first)', async () => {
    const errors: number[] = [];
    for (let i = 0; i < 22; i += 2) {
      const img = await readRgb(await chip(i));
      const box = { x: 0, y: 0, width: img.width, height: img.height };
      const ref = await landmarksInBox(img, box);
      const dim: RgbImage = { ...img, data: img.data.map((v) => Math.round(v / 4)) };
      const lm = await landmarksInBox(dim, box);
      const eye = (p: Array<[number, number]>, from: number) => [0, 1].map((k) => p.slice(from, from + 6).reduce((a, q) => a + q[k]!, 0) / 6);
      const [l, r, l2, r2] = [eye(ref, 36), eye(ref, 42), eye(lm, 36), eye(lm, 42)];
      const d = Math.hypot(l[0]! - r[0]!, l[1]! - r[1]!);
      errors.push((Math.hypot(l[0]! - l2[0]!, l[1]! - l2[1]!) + Math.hypot(r[0]! - r2[0]!, r[1]! - r2[1]!)) / 2 / d);
    }
    errors.sort((a, b) => a - b);
    console.log(`landmarksInBox, faces at a quarter of their brightness: eye error ${errors.map((e) => e.toFixed(3)).join(' ')} eye distances`);
    // without the brightening the median was 0.043 (0.010-0.168) on these faces
    expect(errors[Math.floor(errors.length / 2)]).toBeLessThan(0.02);
  });
});

describe('faceEmbedding', () => {
  it("equals face-api's own descriptor", async () => {
    const img = await readRgb(await chip(11));
    const x150 = tf.tidy(() => tf.image.resizeBilinear(tf.tensor4d(Float32Array.from(img.data), [1, 200, 200, 3]), [150, 150]) as tf.Tensor4D);
    const ours = faceEmbedding(x150, { range: 'byte', region: 'full' });
    const net = getFaceApi().nets.faceRecognitionNet as unknown as { forward(x: tf.Tensor3D): Promise<tf.Tensor2D> };
    const x3 = tf.squeeze(x150, [0]) as tf.Tensor3D;
    const theirs = await net.forward(x3);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(ours, theirs))).dataSync()[0]!);
    expect(diff).toBeLessThan(1e-4);
    tf.dispose([x150, x3, ours, theirs]);
  });

  it('two crops of the same image are closer than two different people', async () => {
    const imgs = await Promise.all([0, 5, 10, 17].map(async (i) => readRgb(await chip(i))));
    const before = tf.memory().numTensors;
    const x = tf.tidy(() => tf.sub(tf.div(tf.tensor4d(Float32Array.from(Buffer.concat(imgs.map((i) => i.data))), [4, 200, 200, 3]), 127.5), 1) as tf.Tensor4D);
    // the first image again, cropped differently (a 180×180 window shifted by 10 px, resized back)
    const shifted = tf.tidy(() => tf.image.resizeBilinear(tf.slice(x, [0, 14, 6, 0], [1, 180, 180, 3]), [200, 200]) as tf.Tensor4D);
    const embedder = faceApiEmbedder({ region: 'full' });
    expect([embedder.dims, embedder.sameIdentityThreshold]).toEqual([128, 0.6]);
    const e = await embedder.embed(x);
    const es = faceEmbedding(shifted, { region: 'full' });
    const E = (await e.array()) as number[][];
    const same = descriptorDistance(E[0]!, ((await es.array()) as number[][])[0]!);
    const different = [1, 2, 3].map((j) => descriptorDistance(E[0]!, E[j]!));
    console.log(`faceEmbedding: same image, two crops ${same.toFixed(3)}; different people ${different.map((d) => d.toFixed(3)).join(', ')}`);
    expect(same).toBeLessThan(Math.min(...different));
    expect(same).toBeLessThan(0.4);
    tf.dispose([x, shifted, e, es]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is differentiable with respect to the input (identity loss)', async () => {
    const img = await readRgb(await chip(23));
    const a = tf.tidy(() => tf.sub(tf.div(tf.tensor4d(Float32Array.from(img.data), [1, 200, 200, 3]), 127.5), 1) as tf.Tensor4D);
    const b = tf.tidy(() => tf.clipByValue(tf.add(a, tf.randomNormal(a.shape, 0, 0.2, 'float32', 7)), -1, 1) as tf.Tensor4D);
    const target = faceEmbedding(a, { region: 'full' });
    const before = tf.memory().numTensors;
    // 1 - cos(E(x'), E(x)) as in the spec's identity loss, gradient with respect to x'
    const unit = (v: tf.Tensor2D) => tf.div(v, tf.norm(v, 'euclidean', 1, true));
    const loss = (x: tf.Tensor) => tf.sub(1, tf.sum(tf.mul(unit(faceEmbedding(x as tf.Tensor4D, { region: 'full' })), unit(target)))) as tf.Scalar;
    const { value, grad } = tf.valueAndGrad(loss)(b);
    expect(grad.shape).toEqual(b.shape);
    const g = await grad.data();
    expect(g.every(Number.isFinite)).toBe(true);
    const gnorm = Math.hypot(...g);
    expect(gnorm).toBeGreaterThan(0);
    // a small step against the gradient lowers the loss
    const stepped = tf.tidy(() => tf.sub(b, tf.mul(grad, 0.5 / gnorm)));
    const after = tf.tidy(() => loss(stepped).dataSync()[0]!);
    const v0 = (await value.data())[0]!;
    console.log(`identity loss ${v0.toFixed(4)} -> ${after.toFixed(4)} after one normalised gradient step (|grad| ${gnorm.toExponential(2)})`);
    expect(after).toBeLessThan(v0);
    tf.dispose([value, grad, stepped]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b, target]);
  });
});

describe('landmarkMaskProvider', () => {
  it('makes a landmark mask for a face chip, and rejects with NoFaceError when there is no face', async () => {
    const provider = landmarkMaskProvider();
    const path = await chip(7);
    const img = await readRgb(path);
    const r = await provider(img, { file: 'x.jpg', path, size: 128 });
    expect(r.source).toBe('landmarks');
    expect(r.mask.length).toBe(200 * 200);
    expect(r.mask[100 * 200 + 100]).toBe(255);
    expect(r.mask[0]).toBe(0);
    const grey: RgbImage = { data: new Uint8Array(200 * 200 * 3).fill(128), width: 200, height: 200 };
    const err = await provider(grey, { file: 'grey.png', path: '/data/grey.png', size: 128 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoFaceError);
    expect((err as Error).message).toMatch(/\/data\/grey\.png: no face found/);
  });

  it.skipIf(NO_UTKFACE)("aligned chips (framing utkface-crop): landmarks from the fixed box, within 8 % of the eye distance of the detector's", async () => {
    const box = ALIGNED_FACE_BOXES['utkface-crop']!;
    let worst = 0;
    let compared = 0;
    for (const { path } of utkSample(12, 7)) {
      const img = await readRgb(path);
      const fixed = await landmarksInBox(img, { x: box.x * img.width, y: box.y * img.height, width: box.width * img.width, height: box.height * img.height });
      expect(plausibleAlignedLandmarks(fixed, img.width), path).toBe(true);
      const found = await detectFaces(img, { pad: 1, minConfidence: 0.3 });
      if (!found.length) continue;
      const ref = found[0]!.landmarks68;
      const eyes = Math.hypot(ref[36]![0] - ref[45]![0], ref[36]![1] - ref[45]![1]);
      const err = fixed.reduce((a, p, i) => a + Math.hypot(p[0] - ref[i]![0], p[1] - ref[i]![1]), 0) / 68 / eyes;
      worst = Math.max(worst, err);
      compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(10);
    expect(worst).toBeLessThan(0.08);
    // the provider takes that path for aligned framing, and still refuses a face-less image (detection fallback)
    const provider = landmarkMaskProvider();
    const grey: RgbImage = { data: new Uint8Array(200 * 200 * 3).fill(128), width: 200, height: 200 };
    await expect(provider(grey, { file: 'grey.png', path: '/data/grey.png', size: 128, framing: 'utkface-crop' })).rejects.toBeInstanceOf(NoFaceError);
  });

  it('plausibleAlignedLandmarks: a face filling the crop passes; a small, off-centre or tilted one does not', () => {
    expect(plausibleAlignedLandmarks(syntheticLandmarks68(100, 85, 70), 200)).toBe(true);
    expect(plausibleAlignedLandmarks(syntheticLandmarks68(100, 85, 20), 200)).toBe(false);
    expect(plausibleAlignedLandmarks(syntheticLandmarks68(30, 85, 70), 200)).toBe(false);
    expect(plausibleAlignedLandmarks(syntheticLandmarks68(100, 85, 70, 0.6), 200)).toBe(false);
    expect(plausibleAlignedLandmarks(syntheticLandmarks68(100, 85, 70).slice(1), 200)).toBe(false);
  });
});
