import * as tf from '@tensorflow/tfjs';
import { createGenerator, initBackend, resolveModelConfig, type Generator } from '@ragan/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UTKFACE_ALIGN, applyAffine } from '@ragan/core';
import { ageFaces, composite, fitSize, prepareFace, rgbaToRgb, rgbToRgba, type PreparedFace } from './pipeline.js';
import { syntheticLandmarks68, testPhoto } from './test-fixtures.js';

describe('photo pipeline (align → re-age → paste back)', () => {
  let gen: Generator;
  const photo = testPhoto(200, 160);
  let face: PreparedFace;

  beforeAll(async () => {
    await initBackend({ backend: 'cpu', quiet: true });
    gen = createGenerator(resolveModelConfig({ preset: 'tiny', resolution: 32 }), { seed: 3, name: 'generator' });
    // per-group CBN parameters, as the demo's untrained model has, so that ages differ
    gen.batchNormLayers().forEach((cbn, i) => {
      cbn.gamma.assign(tf.randomUniform(cbn.gamma.shape, 0.5, 1.5, 'float32', 10 + i));
      cbn.beta.assign(tf.randomUniform(cbn.beta.shape, -0.5, 0.5, 'float32', 20 + i));
    });
    face = prepareFace(photo, syntheticLandmarks68(90, 70, 24), 32);
  });

  afterAll(() => gen.dispose());

  it("crops with the model's framing: UTKFace's square is far tighter and centred lower", () => {
    const lm = syntheticLandmarks68(90, 70, 24);
    const tight = prepareFace(photo, lm, 32, UTKFACE_ALIGN);
    // synthetic eyes 24 px apart, mouth 1.05 × 24 px below: half side = max(a·24, b·1.05·24)
    expect(tight.quad.halfSide).toBeCloseTo(Math.max(1.296 * 24, 1.245 * 1.05 * 24), 3);
    expect(face.quad.halfSide).toBeCloseTo(2.2 * 1.05 * 24, 3);
    expect(tight.quad.centre[1]).toBeCloseTo(70 + 0.524 * 1.05 * 24, 3);
    expect(tight.crop.width).toBe(32);
  });

  it('aligns the face to an upright crop at the model resolution with a landmark mask', () => {
    expect(face.crop.width).toBe(32);
    expect(face.crop.height).toBe(32);
    expect(face.mask.length).toBe(32 * 32);
    // the crop's centre maps to the FFHQ centre (just below the eyes) and the mask covers it
    const c = applyAffine(face.cropToPhoto, [16, 16]);
    expect(c[0]).toBeCloseTo(face.quad.centre[0], 6);
    expect(c[1]).toBeCloseTo(face.quad.centre[1], 6);
    expect(face.mask[16 * 32 + 16]).toBe(255);
    expect(face.mask[0]).toBe(0);
    expect(face.region.length).toBeGreaterThan(20);
  });

  it('changes the photo inside the face only, and each age gives its own face', async () => {
    const young = await ageFaces(gen, [face], 5);
    const old = await ageFaces(gen, [face], 75);
    expect(young.crops[0]!.data.length).toBe(32 * 32 * 3);
    expect(young.ms).toBeGreaterThanOrEqual(0);
    const out = composite(photo, [face], young.crops);
    const xs = face.quad.quad.map((p) => p[0]);
    const ys = face.quad.quad.map((p) => p[1]);
    const [x0, x1, y0, y1] = [Math.min(...xs) - 1, Math.max(...xs) + 1, Math.min(...ys) - 1, Math.max(...ys) + 1];
    let outside = 0;
    let changedOutside = 0;
    for (let y = 0; y < photo.height; y++) {
      for (let x = 0; x < photo.width; x++) {
        if (x + 0.5 >= x0 && x + 0.5 <= x1 && y + 0.5 >= y0 && y + 0.5 <= y1) continue;
        outside++;
        const i = (y * photo.width + x) * 3;
        if (out.data[i] !== photo.data[i] || out.data[i + 1] !== photo.data[i + 1] || out.data[i + 2] !== photo.data[i + 2]) changedOutside++;
      }
    }
    expect(outside).toBeGreaterThan(10_000);
    expect(changedOutside).toBe(0);
    // at the face centre (between the eyes and the mouth) the pasted crop replaces the photo
    const meanDiff = (a: Uint8Array, b: Uint8Array, px: number, py: number, r: number) => {
      let s = 0;
      let n = 0;
      for (let y = py - r; y <= py + r; y++) {
        for (let x = px - r; x <= px + r; x++) {
          const i = (y * photo.width + x) * 3;
          for (let c = 0; c < 3; c++) s += Math.abs(a[i + c]! - b[i + c]!);
          n += 3;
        }
      }
      return s / n;
    };
    expect(meanDiff(out.data, photo.data, 90, 85, 8)).toBeGreaterThan(5);
    const outOld = composite(photo, [face], old.crops);
    expect(meanDiff(out.data, outOld.data, 90, 85, 8)).toBeGreaterThan(1);
  });

  it('batches several faces in one call, in order', async () => {
    const other = prepareFace(photo, syntheticLandmarks68(150, 60, 18), 32);
    const both = await ageFaces(gen, [face, other], 40);
    const one = await ageFaces(gen, [other], 40);
    expect(both.crops).toHaveLength(2);
    const d = both.crops[1]!.data.reduce((s, v, i) => s + Math.abs(v - one.crops[0]!.data[i]!), 0) / one.crops[0]!.data.length;
    expect(d).toBeLessThan(1);
    expect((await ageFaces(gen, [], 40)).crops).toEqual([]);
  });

  it('refuses crops of another size', async () => {
    const wrong = prepareFace(photo, syntheticLandmarks68(90, 70, 24), 16);
    await expect(ageFaces(gen, [wrong], 30)).rejects.toThrow(/32×32/);
  });
});

describe('pixel helpers', () => {
  it('converts RGBA ⇄ RGB', () => {
    const rgba = new Uint8ClampedArray([1, 2, 3, 9, 4, 5, 6, 9]);
    const rgb = rgbaToRgb(rgba, 2, 1);
    expect([...rgb.data]).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...rgbToRgba(rgb)]).toEqual([1, 2, 3, 255, 4, 5, 6, 255]);
    expect(() => rgbaToRgb(rgba, 3, 1)).toThrow(/expected 12 bytes/);
  });

  it('fits large photos into the processing size', () => {
    expect(fitSize(1920, 1280)).toEqual({ width: 1920, height: 1280 });
    expect(fitSize(4000, 3000)).toEqual({ width: 2048, height: 1536 });
    expect(fitSize(100, 5000, 1000)).toEqual({ width: 20, height: 1000 });
  });
});
