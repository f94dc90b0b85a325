import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticLandmarks68, testPhoto } from '@ragan/test-utils/photos';
import { useStockBackend } from '../../test/helpers.js';
import { applyAffine } from '../geometry/affine.js';
import { UTKFACE_ALIGN } from '../geometry/ffhq.js';
import { fadeMaskEdges } from '../geometry/raster.js';
import { createRagan, type RaganModel } from '../ragan.js';
import { pasteFaces, photoFace, reageCrops, reageCropsToTargets } from './faces.js';

const photo = testPhoto(400, 300);
const landmarks = syntheticLandmarks68(200, 140, 40, 0.1);
let model: RaganModel;

beforeAll(async () => {
  await useStockBackend('cpu');
  model = createRagan({ preset: 'tiny', resolution: 16 }, { seed: 3 });
});
afterAll(() => model.dispose());

describe('photoFace', () => {
  it('aligns at the multiple of the model resolution nearest the face, capped by maxCropSize', () => {
    const f = photoFace(photo, { landmarks68: landmarks }, 16);
    // half side = max(2·eyeDist, 2.2·eye-to-mouth) = max(80, 92.4) → a 185 px square → 12 × 16
    expect(f.size).toBe(192);
    expect(f.crop.width).toBe(192);
    expect(f.mask.length).toBe(192 * 192);
    expect(f.score).toBe(1);
    f.cropLandmarks.forEach((p, i) => {
      const back = applyAffine(f.inverse, p);
      expect(Math.hypot(back[0] - landmarks[i]![0], back[1] - landmarks[i]![1])).toBeLessThan(1e-6);
    });
    expect(photoFace(photo, { landmarks68: landmarks }, 16, { maxCropSize: 40 }).size).toBe(32);
    expect(photoFace(photo, { landmarks68: syntheticLandmarks68(200, 140, 3) }, 16).size).toBe(16); // tiny face: one × the model
  });

  it('fades the mask to 0 at the crop borders with a tight (UTKFace) framing, smoothly, so no straight seam is pasted', () => {
    const tight = photoFace(photo, { landmarks68: landmarks }, 64, UTKFACE_ALIGN);
    const n = tight.size;
    const at = (m: Uint8Array, x: number, y: number) => m[y * n + x]!;
    // the forehead part of the mask reaches the top edge of such a crop: without the fade the top row would be on
    const raw = photoFace(photo, { landmarks68: landmarks }, 64, { ...UTKFACE_ALIGN, edgeFade: 0 });
    expect(Math.max(...raw.mask.subarray(0, n))).toBe(255);
    const w = 0.15 * n;
    expect(Math.max(...tight.mask.subarray(0, n))).toBeLessThanOrEqual(Math.ceil(255 * 3 * (0.5 / w) ** 2));
    // down the middle column: rising steadily to the full value at 15 % of the side, without a kink where the
    // ramp starts or ends (a linear ramp's kink is a second difference of 255/w; smoothstep's at most 6·255/w²)
    const mid = Math.floor(n / 2);
    const depth = Math.ceil(w);
    const col = Array.from({ length: depth + 3 }, (_, y) => at(tight.mask, mid, y));
    for (let y = 1; y < col.length; y++) expect(col[y]!).toBeGreaterThanOrEqual(col[y - 1]!);
    expect(col[depth]).toBe(at(raw.mask, mid, depth));
    const secondDiff = Math.max(...col.slice(1, -1).map((v, k) => Math.abs(col[k]! - 2 * v + col[k + 2]!)));
    expect(secondDiff).toBeLessThanOrEqual(Math.ceil((6 * 255) / w ** 2) + 2);
    expect(secondDiff).toBeLessThan(255 / w / 2);
    // round corners: on a full mask the weight where both ramps meet is their product (a min() of distances
    // would give the single ramp there, and a diagonal crease)
    const full = fadeMaskEdges(new Uint8Array(n * n).fill(255), n, 0.15);
    const d = Math.floor(w / 2);
    const one = at(full, mid, d) / 255;
    expect(Math.abs(at(full, d, d) - 255 * one * one)).toBeLessThanOrEqual(1);
    expect(at(full, d, d)).toBeLessThan(at(full, mid, d) - 20);
    // an FFHQ-Aging crop keeps its mask well inside the square: the fade takes off at most 0.5 % of it (the
    // hairline's tips)
    const loose = photoFace(photo, { landmarks68: landmarks }, 64);
    const looseRaw = photoFace(photo, { landmarks68: landmarks }, 64, { edgeFade: 0 });
    let removed = 0;
    let area = 0;
    loose.mask.forEach((v, i) => {
      removed += looseRaw.mask[i]! - v;
      area += looseRaw.mask[i]!;
    });
    expect(removed).toBeGreaterThanOrEqual(0);
    expect(removed / area).toBeLessThan(0.005);
  });
});

describe('reageCrops / pasteFaces', () => {
  it('pasting the unchanged crop back keeps the face (PSNR > 30 dB) and every pixel outside the crop square', () => {
    const f = photoFace(photo, { landmarks68: landmarks }, 16);
    const out = pasteFaces(photo, [f], [f.crop]);
    const xs = f.quad.quad.map((p) => p[0]);
    const ys = f.quad.quad.map((p) => p[1]);
    let se = 0;
    let n = 0;
    let changedOutside = 0;
    for (let y = 0; y < 300; y++) {
      for (let x = 0; x < 400; x++) {
        const i = (y * 400 + x) * 3;
        const outsideSquare = x < Math.min(...xs) - 1 || x > Math.max(...xs) + 1 || y < Math.min(...ys) - 1 || y > Math.max(...ys) + 1;
        for (let c = 0; c < 3; c++) {
          const d = out.data[i + c]! - photo.data[i + c]!;
          if (outsideSquare && d !== 0) changedOutside++;
          se += d * d;
          n++;
        }
      }
    }
    expect(changedOutside).toBe(0);
    expect(10 * Math.log10((255 * 255) / Math.max(1e-9, se / n))).toBeGreaterThan(30);
    expect(pasteFaces(photo, [], []).data).not.toBe(photo.data); // always a new image
  });

  it('re-ages crops at their own size, without leaking tensors; with the mask blend only the face changes', async () => {
    const faces = [photoFace(photo, { landmarks68: landmarks }, 16), photoFace(photo, { landmarks68: syntheticLandmarks68(320, 200, 20) }, 16)];
    const before = tf.memory().numTensors;
    const crops = await reageCrops(model.emaGenerator, faces, { group: '70+' });
    expect(crops.map((c) => c.width)).toEqual(faces.map((f) => f.size));
    const both = await reageCropsToTargets(model.emaGenerator, faces.slice(0, 1), [{ group: 0 }, { group: '70+' }], { blendWithMask: true });
    const young = both[0]![0]!;
    const old = both[1]![0]!;
    expect(tf.memory().numTensors).toBe(before);
    // where the mask is 0 (the crop's corner) the blended crop is the input crop
    const corner = 0;
    for (const img of [young, old])
      for (let c = 0; c < 3; c++) expect(Math.abs(img.data[corner + c]! - faces[0]!.crop.data[corner + c]!)).toBeLessThanOrEqual(1);
    // the random generator changes the face centre
    const mid = (Math.floor(faces[0]!.size / 2) * faces[0]!.size + Math.floor(faces[0]!.size / 2)) * 3;
    expect(Math.abs(crops[0]!.data[mid]! - faces[0]!.crop.data[mid]!) + Math.abs(crops[0]!.data[mid + 1]! - faces[0]!.crop.data[mid + 1]!)).toBeGreaterThan(3);
  });
});
