import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '@ragan/core';
import { faceChipsDir, pickFaceChips, pngHeaderOnly, tempDir } from '../testing/fixtures.js';
import { decodeGrey, decodeRgb, ImageFileError, loadImage, probeImage, readImageFile } from './decode.js';

const tmp = tempDir();
/** A real face: a 200×200 JPEG chip of face-api's sample photos. */
const chip = join(await faceChipsDir(), (await pickFaceChips(1))[0]!);
afterAll(() => tmp.cleanup());

/** 16×8: left half red, right half blue. */
async function halves(): Promise<Buffer> {
  const raw = Buffer.alloc(16 * 8 * 3);
  for (let y = 0; y < 8; y++) for (let x = 0; x < 16; x++) raw.set(x < 8 ? [220, 20, 20] : [20, 20, 220], (y * 16 + x) * 3);
  return sharp(raw, { raw: { width: 16, height: 8, channels: 3 } })
    .png()
    .toBuffer();
}
const px = (img: { data: Uint8Array; width: number }, x: number, y: number) => [...img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3)];
const near = (a: number[], b: number[], tol = 12) => a.every((v, i) => Math.abs(v - b[i]!) <= tol);

async function expectSkip(p: Promise<unknown>, kind: string, name: string, reason: RegExp) {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, `${name} should fail`).toBeInstanceOf(ImageFileError);
  const err = e as ImageFileError;
  expect(err.kind).toBe(kind);
  expect(err.code).toBe('DATASET_ERROR');
  expect(err.message.startsWith(`${name}: `)).toBe(true);
  expect(err.message).toMatch(reason);
  // one line, nothing from inside sharp's stack
  expect(err.message).not.toMatch(/\n|\bat .*\.js:\d+/);
}

describe('decodeRgb: every input becomes size×size 8-bit sRGB RGB', () => {
  it('decodes a real face JPEG to 64×64×3', async () => {
    const img = await loadImage(chip, 64);
    expect([img.width, img.height, img.data.length]).toEqual([64, 64, 64 * 64 * 3]);
    // a face photo, not a flat fill
    const vals = new Set(img.data);
    expect(vals.size).toBeGreaterThan(100);
  });

  it('PNG, WebP, TIFF and JPEG give the same picture; the non-square input is centre-cropped', async () => {
    const png = await halves();
    for (const fmt of ['png', 'webp', 'tiff', 'jpeg'] as const) {
      const buf = await sharp(png)
        .toFormat(fmt, fmt === 'webp' || fmt === 'jpeg' ? { quality: 100 } : {})
        .toBuffer();
      const img = await decodeRgb(buf, 8, { name: `x.${fmt}` });
      expect(near(px(img, 0, 4), [220, 20, 20], 30), fmt).toBe(true);
      expect(near(px(img, 7, 4), [20, 20, 220], 30), fmt).toBe(true);
    }
  });

  it('GIF: the first frame of an animation', async () => {
    const red = Buffer.alloc(8 * 8 * 4);
    const green = Buffer.alloc(8 * 8 * 4);
    for (let i = 0; i < 64; i++) {
      red.set([255, 0, 0, 255], i * 4);
      green.set([0, 255, 0, 255], i * 4);
    }
    const gif = await sharp(Buffer.concat([red, green]), { raw: { width: 8, height: 16, channels: 4, pageHeight: 8 } as never })
      .gif()
      .toBuffer();
    expect((await sharp(gif).metadata()).pages).toBe(2);
    const img = await decodeRgb(gif, 4, { name: 'anim.gif' });
    expect(near(px(img, 2, 2), [255, 0, 0])).toBe(true);
  });

  it('applies EXIF orientation (6 = rotate 90° clockwise): left half becomes the top', async () => {
    const jpg = await sharp(await halves())
      .jpeg({ quality: 100 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    expect((await probeImage(jpg)).orientation).toBe(6);
    const img = await decodeRgb(jpg, 8, { name: 'rotated.jpg' });
    expect(near(px(img, 4, 0), [220, 20, 20], 30)).toBe(true);
    expect(near(px(img, 4, 7), [20, 20, 220], 30)).toBe(true);
  });

  it('greyscale (1 channel), CMYK, alpha and 16-bit inputs become 3-channel 8-bit sRGB', async () => {
    const grey = await sharp(Buffer.alloc(64, 90), { raw: { width: 8, height: 8, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    expect((await sharp(grey).metadata()).channels).toBe(1);
    expect(px(await decodeRgb(grey, 4), 1, 1)).toEqual([90, 90, 90]);

    const orange = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 230, g: 120, b: 20 } } })
      .png()
      .toBuffer();
    const cmyk = await sharp(orange).toColourspace('cmyk').jpeg({ quality: 100 }).toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    expect(near(px(await decodeRgb(cmyk, 4), 1, 1), [230, 120, 20], 25)).toBe(true);

    // half-transparent red over the mid-grey we flatten onto
    const rgba = await sharp({ create: { width: 8, height: 8, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 0.5 } } })
      .png()
      .toBuffer();
    expect(near(px(await decodeRgb(rgba, 4), 1, 1), [191, 64, 64], 4)).toBe(true);

    const deep = await sharp(orange).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(deep).metadata()).depth).toBe('ushort');
    const d = await decodeRgb(deep, 4);
    expect(d.data.length).toBe(4 * 4 * 3);
    expect(near(px(d, 1, 1), [230, 120, 20], 2)).toBe(true);
  });

  it('decodeGrey makes a one-channel mask (colour → luminance, linear resampling keeps soft edges)', async () => {
    const raw = Buffer.alloc(16 * 16);
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) raw[y * 16 + x] = x < 8 ? 0 : 255;
    const m = await decodeGrey(
      await sharp(raw, { raw: { width: 16, height: 16, channels: 1 } })
        .png()
        .toBuffer(),
      8,
    );
    expect(m.data.length).toBe(64);
    expect(m.data[0]).toBe(0);
    expect(m.data[7]).toBe(255);
  });
});

describe('bad files: each is refused with its kind and a one-line reason that names it', () => {
  const dir = tmp.dir;
  const jpeg = readFileSync(chip);

  it('zero bytes', async () => {
    writeFileSync(join(dir, 'zero.jpg'), Buffer.alloc(0));
    await expectSkip(readImageFile(join(dir, 'zero.jpg'), { name: 'zero.jpg' }), 'empty', 'zero.jpg', /empty \(0 bytes\)/);
    await expectSkip(decodeRgb(Buffer.alloc(0), 8, { name: 'zero.jpg' }), 'empty', 'zero.jpg', /empty/);
  });

  it('a truncated JPEG', async () => {
    await expectSkip(decodeRgb(jpeg.subarray(0, jpeg.length >> 1), 8, { name: 'half.jpg' }), 'corrupt', 'half.jpg', /truncated or damaged/);
  });

  it('failures decoded at the same time keep their own reason (libvips shares one error buffer)', async () => {
    const half = jpeg.subarray(0, jpeg.length >> 1);
    const all = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => decodeRgb(half, 16, { name: `t${i}.jpg` })));
    for (const [i, r] of all.entries()) {
      expect(r.status).toBe('rejected');
      expect(((r as PromiseRejectedResult).reason as Error).message).toMatch(new RegExp(`^t${i}\\.jpg: is truncated or damaged`));
    }
  });

  it('a text file and random bytes', async () => {
    await expectSkip(decodeRgb(Buffer.from('hello, not an image'), 8, { name: 'notes.jpg' }), 'not-an-image', 'notes.jpg', /not an image/);
    const rng = Rng.fromSeed(3);
    const noise = Buffer.from(Array.from({ length: 2048 }, () => rng.nextU32() & 255));
    await expectSkip(decodeRgb(noise, 8, { name: 'noise.jpg' }), 'not-an-image', 'noise.jpg', /not an image/);
  });

  it('a PNG header declaring 60000×60000 pixels is refused before decoding (decompression bomb)', async () => {
    const bomb = pngHeaderOnly(60000, 60000);
    expect(bomb.length).toBeLessThan(200);
    const t0 = performance.now();
    await expectSkip(decodeRgb(bomb, 8, { name: 'bomb.png' }), 'too-large', 'bomb.png', /60000×60000 = 3\.6 gigapixels, over the 100 megapixels limit/);
    expect(performance.now() - t0).toBeLessThan(5000);
    // a lower limit catches ordinary images too
    await expectSkip(decodeRgb(jpeg, 8, { name: 'face.jpg', maxPixels: 100 * 100 }), 'too-large', 'face.jpg', /200×200/);
  });

  it('an SVG is refused (it could load external resources)', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8" fill="red"/></svg>');
    await expectSkip(decodeRgb(svg, 8, { name: 'face.svg' }), 'not-an-image', 'face.svg', /SVG image; supported: JPEG, PNG, WebP, TIFF, GIF/);
  });

  it('unreadable entries (tests run as root, so not chmod): a folder and a dangling symlink named like images', async () => {
    mkdirSync(join(dir, 'folder.jpg'));
    symlinkSync(join(dir, 'gone.jpg'), join(dir, 'link.jpg'));
    await expectSkip(readImageFile(join(dir, 'folder.jpg'), { name: 'folder.jpg' }), 'unreadable', 'folder.jpg', /is a folder, not an image file/);
    await expectSkip(readImageFile(join(dir, 'link.jpg'), { name: 'link.jpg' }), 'unreadable', 'link.jpg', /dangling symlink/);
    await expectSkip(readImageFile(join(dir, 'nothing.jpg'), { name: 'nothing.jpg' }), 'missing', 'nothing.jpg', /does not exist/);
  });

  it('a file over the byte limit, and a symlink that leaves the confining folder', async () => {
    writeFileSync(join(dir, 'big.jpg'), Buffer.alloc(2048, 1));
    await expectSkip(readImageFile(join(dir, 'big.jpg'), { name: 'big.jpg', maxBytes: 1024 }), 'too-large', 'big.jpg', /2\.0 KiB, over the 1\.0 KiB/);
    const inner = join(dir, 'inner');
    mkdirSync(inner);
    symlinkSync(chip, join(inner, 'escape.jpg'));
    await expectSkip(
      readImageFile(join(inner, 'escape.jpg'), { name: 'escape.jpg', confineTo: inner }),
      'outside',
      'escape.jpg',
      /outside the manifest's folder/,
    );
  });
});
