import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, UTKFACE_ALIGN, createRagan, initBackend, photoFace, type RaganModel } from '@ragan/core';
import { syntheticLandmarks68, testPhoto } from '@ragan/test-utils/photos';
import type { RgbImage } from '../faces/image.js';
import { encodeImageFor, renderAgeGrid } from './reage-photo.js';

// photoFace, reageCrops and pasteFaces are core's (packages/core/src/photo/faces.test.ts); here the grid and the encoder.
const photo = testPhoto(400, 300);
const landmarks = syntheticLandmarks68(200, 140, 40, 0.1);
let model: RaganModel;

beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
  model = createRagan({ preset: 'tiny', resolution: 16 }, { seed: 3 });
});
afterAll(() => model.dispose());

describe('renderAgeGrid / encodeImageFor', () => {
  it('lays out (groups + 1) columns of `cell` px and a row per face', async () => {
    const faces = [photoFace(photo, { landmarks68: landmarks }, 16), photoFace(photo, { landmarks68: syntheticLandmarks68(320, 200, 20) }, 16)];
    const g = await renderAgeGrid(model.emaGenerator, faces, { cell: 32, labels: false });
    expect(g.columns).toEqual(['input', '0-2', '3-6', '7-9', '10-14', '15-19', '20-29', '30-39', '40-49', '50-69', '70+']);
    expect([g.width, g.height, g.header]).toEqual([11 * 32, 2 * 32, 0]);
    const meta = await sharp(g.png).metadata();
    expect([meta.width, meta.height]).toEqual([352, 64]);
    const labelled = await renderAgeGrid(model.emaGenerator, faces.slice(0, 1), { cell: 32 });
    expect([labelled.width, labelled.height]).toEqual([352, 28 + 32]);
  });

  it('frames every column alike: outside the face (the cell corners) each output cell is the input cell', async () => {
    const faces = [
      photoFace(photo, { landmarks68: landmarks }, 16, UTKFACE_ALIGN),
      photoFace(photo, { landmarks68: syntheticLandmarks68(320, 200, 20, 0.3) }, 16),
    ];
    const cell = 48;
    const g = await renderAgeGrid(model.emaGenerator, faces, { cell, labels: false });
    const { data, info } = await sharp(g.png).raw().toBuffer({ resolveWithObject: true });
    const px = (x: number, y: number, c: number) => data[(y * info.width + x) * info.channels + c]!;
    for (let r = 0; r < faces.length; r++) {
      let worst = 0;
      for (let col = 1; col < g.columns.length; col++) {
        for (const [cx, cy] of [
          [1, 1],
          [cell - 2, 1],
          [1, cell - 2],
          [cell - 2, cell - 2],
        ] as const) {
          for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(px(col * cell + cx, r * cell + cy, c) - px(cx, r * cell + cy, c)));
        }
      }
      expect(worst).toBeLessThanOrEqual(2);
    }
  });

  it('encodes by extension and names the file for an unknown one', async () => {
    const small: RgbImage = { data: photo.data.slice(0, 40 * 30 * 3), width: 40, height: 30 };
    const png = await encodeImageFor('out.png', small);
    const back = await sharp(png).raw().toBuffer();
    expect(Buffer.compare(back, Buffer.from(small.data))).toBe(0);
    expect((await sharp(await encodeImageFor('a/b.JPG', small)).metadata()).format).toBe('jpeg');
    expect((await sharp(await encodeImageFor('x.webp', small)).metadata()).format).toBe('webp');
    await expect(encodeImageFor('x.gif', small)).rejects.toThrow(ConfigError);
    await expect(encodeImageFor('x.gif', small)).rejects.toThrow(/x\.gif: unknown image type "\.gif"/);
  });
});
