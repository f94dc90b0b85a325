import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { RgbImage } from '../faces/image.js';
import { psnr, syntheticLandmarks68, testPhoto } from '@ragan/test-utils/photos';
import { landmarkMask } from '@ragan/core';
import { applyAffine, composeAffine, invertAffine, type Affine } from '@ragan/core';
import { alignFace } from '@ragan/core';
import { ffhqAlignQuad } from '@ragan/core';
import { checkPhotoFile, readPhoto } from './photo.js';
import { pasteBack, warpAffine } from '@ragan/core';

describe('affine helpers', () => {
  it('invert and compose round-trip', () => {
    const m: Affine = [1.2, -0.3, 14, 0.25, 0.9, -7];
    const id = composeAffine(invertAffine(m), m);
    [1, 0, 0, 0, 1, 0].forEach((v, i) => expect(id[i]).toBeCloseTo(v, 12));
    const p = applyAffine(invertAffine(m), applyAffine(m, [3.5, -8]));
    expect(p[0]).toBeCloseTo(3.5, 10);
    expect(p[1]).toBeCloseTo(-8, 10);
    expect(() => invertAffine([1, 2, 0, 2, 4, 0])).toThrow(/singular/);
  });
});

describe('ffhqAlignQuad', () => {
  it("follows the spec's recipe on an upright face", () => {
    const e = 50;
    const q = ffhqAlignQuad(syntheticLandmarks68(300, 200, e));
    // eye_to_mouth = 1.05 e (straight down), eye_to_eye = e: half side = max(2e, 2.2 * 1.05e)
    expect(q.halfSide).toBeCloseTo(2.2 * 1.05 * e, 6);
    expect(q.angle).toBeCloseTo(0, 10);
    expect(q.centre[0]).toBeCloseTo(300, 6);
    expect(q.centre[1]).toBeCloseTo(200 + 0.1 * 1.05 * e, 6);
    expect(q.quad[0][0]).toBeCloseTo(300 - q.halfSide, 6); // top-left
    expect(q.quad[1][1]).toBeCloseTo(q.centre[1] + q.halfSide, 6); // bottom-left
    // a wide face (eye_to_eye dominates)
    const wide = syntheticLandmarks68(0, 0, e).map(([x, y]): [number, number] => [x * 1.4, y]);
    expect(ffhqAlignQuad(wide).halfSide).toBeCloseTo(2.0 * 1.4 * e, 6);
  });

  it('rotates with the face', () => {
    const q = ffhqAlignQuad(syntheticLandmarks68(300, 200, 50, 0.3));
    expect(q.angle).toBeCloseTo(0.3, 6);
  });
});

describe('alignFace / warpAffine / pasteBack', () => {
  const photo = testPhoto(400, 300);

  it('an identity warp reproduces the image exactly', () => {
    const out = warpAffine(photo, [1, 0, 0, 0, 1, 0], 400, 300);
    expect(Buffer.from(out.data).equals(Buffer.from(photo.data))).toBe(true);
  });

  it('reflect padding mirrors without repeating the edge (numpy "reflect", as FFHQ)', () => {
    const row: RgbImage = { data: new Uint8Array([0, 0, 0, 10, 10, 10, 20, 20, 20, 30, 30, 30]), width: 4, height: 1 };
    const out = warpAffine(row, [1, 0, -2, 0, 1, 0], 8, 1, 'reflect'); // output x -> source x - 2
    expect(Array.from(out.data).filter((_, i) => i % 3 === 0)).toEqual([20, 10, 0, 10, 20, 30, 20, 10]);
    const edge = warpAffine(row, [1, 0, -2, 0, 1, 0], 8, 1, 'edge');
    expect(Array.from(edge.data).filter((_, i) => i % 3 === 0)).toEqual([0, 0, 0, 10, 20, 30, 30, 30]);
  });

  it('keeps transform and inverse consistent and maps landmarks into the canonical place', () => {
    const lm = syntheticLandmarks68(210, 140, 40, -0.2);
    const a = alignFace(photo, lm, { size: 256 });
    expect(a.crop.width).toBe(256);
    expect(a.crop.data.length).toBe(256 * 256 * 3);
    for (const p of lm) {
      const back = applyAffine(a.inverse, applyAffine(a.transform, p));
      expect(Math.hypot(back[0] - p[0], back[1] - p[1])).toBeLessThan(1e-6);
    }
    // eyes level in the crop, centred horizontally; centre = eyes + 0.1 eye-to-mouth
    const eyeL = applyAffine(a.transform, a.quad.eyeLeft);
    const eyeR = applyAffine(a.transform, a.quad.eyeRight);
    expect(Math.abs(eyeL[1] - eyeR[1])).toBeLessThan(1e-6);
    expect((eyeL[0] + eyeR[0]) / 2).toBeCloseTo(128, 6);
    expect(128 - eyeL[1]).toBeCloseTo((0.1 * 256) / 4.4, 4); // half side = 2.2 e2m, so 0.1 e2m = 256 * 0.1 / 4.4
  });

  it('pasteBack of the unmodified crop reproduces the face region (PSNR > 30 dB) and leaves the rest untouched', () => {
    const lm = syntheticLandmarks68(210, 140, 40, -0.2);
    const a = alignFace(photo, lm, { size: 256 });
    const cropLm = lm.map((p) => applyAffine(a.transform, p));
    const mask = landmarkMask(cropLm, 256);
    const out = pasteBack(photo, a.crop, a.inverse, mask, { feather: 4 });
    expect(out.data.length).toBe(photo.data.length);
    const faceInPhoto = landmarkMask(lm, { width: 400, height: 300 }, { feather: 0 });
    const inside = psnr(out.data, photo.data, (p) => faceInPhoto[p] === 255);
    expect(inside).toBeGreaterThan(30);
    // Outside the warped crop's footprint nothing changes, bit for bit.
    const footprint = landmarkMask(lm, { width: 400, height: 300 }, { feather: 0, grow: 0.4, foreheadRaise: 1.2 });
    let changedOutside = 0;
    for (let p = 0; p < 400 * 300; p++) {
      if (
        footprint[p] === 0 &&
        (out.data[p * 3] !== photo.data[p * 3] || out.data[p * 3 + 1] !== photo.data[p * 3 + 1] || out.data[p * 3 + 2] !== photo.data[p * 3 + 2])
      )
        changedOutside++;
    }
    expect(changedOutside).toBe(0);
    console.log(`pasteBack (synthetic photo): PSNR inside the face ${inside.toFixed(1)} dB`);
    // inputs are not modified
    expect(out.data).not.toBe(photo.data);
  });

  it('pasteBack with a null mask replaces the whole footprint', () => {
    const a = alignFace(photo, syntheticLandmarks68(200, 150, 30), { size: 64 });
    const grey: RgbImage = { data: new Uint8Array(64 * 64 * 3).fill(77), width: 64, height: 64 };
    const out = pasteBack(photo, grey, a.inverse, null, { feather: 1 });
    const c = applyAffine(a.inverse, [32, 32]);
    const i = (Math.floor(c[1]) * 400 + Math.floor(c[0])) * 3;
    expect(out.data[i]).toBe(77);
    expect(out.data[0]).toBe(photo.data[0]);
  });
});

describe('readPhoto', () => {
  it('honours EXIF orientation', async () => {
    const upright = testPhoto(60, 40);
    // Store the pixels rotated 90° counter-clockwise, tagged orientation 6 ("rotate 90° clockwise to view").
    const stored = await sharp(upright.data, { raw: { width: 60, height: 40, channels: 3 } })
      .rotate(-90)
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const p = await readPhoto(stored);
    expect(p.orientation).toBe(6);
    expect([p.storedWidth, p.storedHeight]).toEqual([40, 60]);
    expect([p.image.width, p.image.height]).toEqual([60, 40]);
    expect(psnr(p.image.data, upright.data, () => true)).toBeGreaterThan(25);
  });

  it('names the file when it cannot decode it, and says why', async () => {
    await expect(readPhoto(Buffer.from('not an image'))).rejects.toThrow(/^<buffer>: is not an image/);
    await expect(readPhoto('/nonexistent/photo.jpg')).rejects.toThrow(/^\/nonexistent\/photo\.jpg: does not exist$/);
  });

  it('goes through the one image-reading path: SVG refused, truncation an error, file-size and pixel limits, grey+alpha', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ragan-photo-'));
    try {
      // an SVG can make libvips fetch other files: never decoded as a photo
      const svg = join(dir, 'face.svg');
      writeFileSync(svg, '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><rect width="40" height="40" fill="red"/></svg>');
      await expect(readPhoto(svg)).rejects.toThrow(/face\.svg: is a SVG image; supported: JPEG, PNG, WebP, TIFF, GIF, AVIF$/);
      await expect(checkPhotoFile(svg)).rejects.toThrow(/is a SVG image/);
      // a JPEG cut in half is damaged, not grey pixels
      const jpeg = await sharp(testPhoto(64, 48).data, { raw: { width: 64, height: 48, channels: 3 } })
        .jpeg()
        .toBuffer();
      const cut = join(dir, 'cut.jpg');
      writeFileSync(cut, jpeg.subarray(0, jpeg.length >> 1));
      await expect(readPhoto(cut)).rejects.toThrow(/cut\.jpg: is truncated or damaged|cut\.jpg: cannot be decoded/);
      const whole = join(dir, 'whole.jpg');
      writeFileSync(whole, jpeg);
      await expect(readPhoto(whole, { maxBytes: 100 })).rejects.toThrow(/whole\.jpg: is .* over the 100 bytes file-size limit/);
      await expect(readPhoto(whole, { maxPixels: 1000 })).rejects.toThrow(/whole\.jpg: is 64×48 = .* over the .* limit for photos; scale it down first$/);
      // a path and its bytes read the same
      expect((await readPhoto(whole)).image.data).toEqual((await readPhoto(jpeg)).image.data);
      // grey + alpha: alpha dropped, three equal channels
      const greyAlpha = await sharp(Buffer.from([10, 255, 200, 0]), { raw: { width: 2, height: 1, channels: 2 } })
        .png()
        .toBuffer();
      expect(Array.from((await readPhoto(greyAlpha)).image.data)).toEqual([10, 10, 10, 200, 200, 200]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
