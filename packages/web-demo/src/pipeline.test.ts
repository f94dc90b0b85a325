import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { createGenerator, initBackend, resolveModelConfig, UTKFACE_ALIGN, type Generator } from '@ragan/core';
import { findPhotoFaces, pasteFaces, reageCrops } from '@ragan/data';
import { writeRotatedSample6 } from '@ragan/test-utils/sample-faces';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agePhoto, DEMO_REAGE_OPTIONS, fitSize, prepareFaces, rgbaToRgb, rgbToRgba, type PreparedFace } from './pipeline.js';
import { syntheticLandmarks68, testPhoto } from '@ragan/test-utils/photos';

/** A tiny untrained generator whose CBN parameters differ per group (as the demo's fallback model), so that ages differ. */
function tinyGenerator(resolution: number, alignment?: typeof UTKFACE_ALIGN): Generator {
  const gen = createGenerator(resolveModelConfig({ preset: 'tiny', resolution, ...(alignment ? { alignment } : {}) }), { seed: 3, name: 'generator' });
  gen.batchNormLayers().forEach((cbn, i) => {
    cbn.gamma.assign(tf.randomUniform(cbn.gamma.shape, 0.5, 1.5, 'float32', 10 + i));
    cbn.beta.assign(tf.randomUniform(cbn.beta.shape, -0.5, 0.5, 'float32', 20 + i));
  });
  return gen;
}

describe('photo pipeline (align → re-age → paste back)', () => {
  let gen: Generator;
  const photo = testPhoto(200, 160);
  let face: PreparedFace;

  beforeAll(async () => {
    // wasm: face-api's detector on the cpu backend takes over a minute per photo
    await initBackend({ backend: 'wasm', quiet: true });
    gen = tinyGenerator(32);
    [face] = prepareFaces(gen, photo, [{ landmarks68: syntheticLandmarks68(90, 70, 24) }]) as [PreparedFace];
  });

  afterAll(() => gen.dispose());

  it("crops with the model's framing: UTKFace's square is far tighter and centred lower", () => {
    const utk = tinyGenerator(32, UTKFACE_ALIGN);
    const [tight] = prepareFaces(utk, photo, [{ landmarks68: syntheticLandmarks68(90, 70, 24) }]);
    utk.dispose();
    // synthetic eyes 24 px apart, mouth 1.05 × 24 px below: half side = max(a·24, b·1.05·24)
    expect(tight!.quad.halfSide).toBeCloseTo(Math.max(1.296 * 24, 1.245 * 1.05 * 24), 3);
    expect(face.quad.halfSide).toBeCloseTo(2.2 * 1.05 * 24, 3);
    expect(tight!.quad.centre[1]).toBeCloseTo(70 + 0.524 * 1.05 * 24, 3);
    expect(tight!.crop.width % 32).toBe(0);
  });

  it('aligns the face to an upright crop at a multiple of the model resolution, with a landmark mask and its polygon', () => {
    // a 111 px crop square in the photo: the nearest multiple of 32 is 96
    expect(face.size).toBe(96);
    expect([face.crop.width, face.crop.height]).toEqual([96, 96]);
    expect(face.mask.length).toBe(96 * 96);
    expect(face.mask[48 * 96 + 48]).toBe(255);
    expect(face.mask[0]).toBe(0);
    expect(face.region.length).toBeGreaterThan(20);
  });

  it('changes the photo inside the face only, and each age gives its own face', async () => {
    const before = tf.memory().numTensors;
    const young = await agePhoto(gen, photo, [face], 5);
    const old = await agePhoto(gen, photo, [face], 75);
    expect(tf.memory().numTensors).toBe(before);
    expect(young.crops[0]!.data.length).toBe(96 * 96 * 3);
    expect(young.ms).toBeGreaterThanOrEqual(0);
    const out = young.image;
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
    expect(meanDiff(out.data, old.image.data, 90, 85, 8)).toBeGreaterThan(1);
  });

  it('ages several faces in one call, in order', async () => {
    const faces = prepareFaces(gen, photo, [{ landmarks68: syntheticLandmarks68(90, 70, 24) }, { landmarks68: syntheticLandmarks68(150, 60, 18) }]);
    const both = await agePhoto(gen, photo, faces, 40);
    const one = await agePhoto(gen, photo, [faces[1]!], 40);
    expect(both.crops).toHaveLength(2);
    const d = both.crops[1]!.data.reduce((s, v, i) => s + Math.abs(v - one.crops[0]!.data[i]!), 0) / one.crops[0]!.data.length;
    expect(d).toBeLessThan(1);
    expect((await agePhoto(gen, photo, [], 40)).crops).toEqual([]);
    await expect(agePhoto(gen, photo, faces, Number.NaN)).rejects.toThrow(/age must be a number/);
  });

  it("gives the same pixels as `ragan age`'s pipeline (@ragan/data) for the same photo, faces and model", async () => {
    // four faces of face-api's demo/sample6.jpg (MIT), 960 px wide, EXIF-rotated;
    // ragan age: findPhotoFaces (the model's framing) → reageCrops (keep detail) → pasteFaces
    const utk = tinyGenerator(32, UTKFACE_ALIGN);
    const dir = mkdtempSync(join(tmpdir(), 'ragan-demo-'));
    try {
      const file = join(dir, 'sample6.jpg');
      await writeRotatedSample6(file);
      const found = await findPhotoFaces(file, 32, { ...utk.config.alignment, detector: 'ssd' });
      expect(found.faces.length).toBeGreaterThan(0);
      const cliCrops = await reageCrops(utk, found.faces, { age: 62 }, { keepDetail: true });
      const cli = pasteFaces(found.photo.image, found.faces, cliCrops);
      const demoFaces = prepareFaces(
        utk,
        found.photo.image,
        found.faces.map((f) => ({ landmarks68: f.landmarks, box: f.box, score: f.score })),
      );
      const demo = await agePhoto(utk, found.photo.image, demoFaces, 62);
      expect(DEMO_REAGE_OPTIONS.keepDetail).toBe(true);
      let maxDiff = 0;
      let changed = 0;
      for (let i = 0; i < cli.data.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(cli.data[i]! - demo.image.data[i]!));
        if (cli.data[i] !== found.photo.image.data[i]) changed++;
      }
      expect(changed).toBeGreaterThan(1000); // the faces did change
      expect(maxDiff).toBeLessThanOrEqual(1);
    } finally {
      utk.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
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
