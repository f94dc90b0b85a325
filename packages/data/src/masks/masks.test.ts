import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@ragan/core';
import type { RgbImage } from '../images/decode.js';
import type { SourceItem } from '../readers/types.js';
import { tempDir } from '../testing/fixtures.js';
import { checkMaskMode, maskChainSteps, resolveMask, type MaskChain } from './chain.js';
import { FACE_REGION_CLASSES, loadParsingMask, parsingToMask } from './parsing.js';
import { ellipticalPrior } from './prior.js';
import type { MaskProvider } from './types.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const labelPng = (labels: Uint8Array, w: number, h: number) =>
  sharp(Buffer.from(labels), { raw: { width: w, height: h, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toBuffer();

describe('parsing maps (FFHQ-Aging, 19 CelebAMask-HQ classes)', () => {
  it('classes 1-13 and 17 are the face region; 0, 14 hat, 15 earring, 16 necklace, 18 cloth are background', () => {
    expect(FACE_REGION_CLASSES).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 17]);
    const labels = Uint8Array.from({ length: 19 }, (_, i) => i);
    expect([...parsingToMask(labels)]).toEqual([0, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 255, 0]);
  });

  it('loadParsingMask reads a label PNG and resamples the binary mask to the cache size', async () => {
    // 32×32: top half hair (13), bottom-left skin (1), bottom-right cloth (18)
    const L = new Uint8Array(32 * 32);
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) L[y * 32 + x] = y < 16 ? 13 : x < 16 ? 1 : 18;
    const p = join(tmp.dir, 'parsing.png');
    writeFileSync(p, await labelPng(L, 32, 32));
    const m = await loadParsingMask(p, 8);
    expect(m.data.length).toBe(64);
    expect(m.data[0]).toBe(255); // hair
    expect(m.data[7 * 8 + 0]).toBe(255); // skin
    expect(m.data[7 * 8 + 7]).toBe(0); // cloth
  });

  it('refuses a colour map and a map with values outside 0-18, naming the file', async () => {
    const colour = join(tmp.dir, 'colour.png');
    writeFileSync(
      colour,
      await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 255, g: 0, b: 0 } } })
        .png()
        .toBuffer(),
    );
    await expect(loadParsingMask(colour, 8, { name: 'colour.png' })).rejects.toThrow(/colour.png: is a colour \(or palette\) image/);
    const vis = join(tmp.dir, 'vis.png');
    writeFileSync(vis, await labelPng(new Uint8Array(64).fill(200), 8, 8));
    await expect(loadParsingMask(vis, 8, { name: 'vis.png' })).rejects.toThrow(/vis.png: holds value 200, outside the class indices 0-18/);
  });
});

describe('elliptical prior', () => {
  it('is 255 in the centre, 0 in the corners, left-right symmetric, with a soft edge', () => {
    for (const shape of ['ffhq-aligned', 'utkface-crop'] as const) {
      const S = 64;
      const m = ellipticalPrior(S, shape);
      expect(m[32 * S + 32]).toBe(255);
      expect(m[0]).toBe(0);
      expect(m[S * S - 1]).toBe(0);
      for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) expect(m[y * S + x]).toBe(m[y * S + (S - 1 - x)]);
      expect([...m].some((v) => v > 0 && v < 255)).toBe(true);
    }
    // UTKFace chips are tight crops: their prior covers more of the frame
    const area = (m: Uint8Array) => m.reduce((a, v) => a + v, 0);
    expect(area(ellipticalPrior(64, 'utkface-crop'))).toBeGreaterThan(area(ellipticalPrior(64, 'ffhq-aligned')));
  });
});

describe('the mask chain', () => {
  const S = 16;
  const item: SourceItem = { file: 'a.jpg', path: '/nowhere/a.jpg', age: 30, group: 6, split: 'train' };
  const image: RgbImage = { data: new Uint8Array(32 * 32 * 3), width: 32, height: 32 };
  const work = async () => image;
  const chain = (over: Partial<MaskChain> = {}): MaskChain => ({ mode: 'auto', size: S, prior: 'utkface-crop', plugins: {}, ...over });
  const half: MaskProvider = async (img) => ({
    mask: Uint8Array.from({ length: img.width * img.height }, (_, i) => (i % img.width < img.width / 2 ? 255 : 0)),
    source: 'landmarks',
  });

  it('auto without parsing map or providers: the prior', async () => {
    const r = await resolveMask(item, chain(), work);
    expect(r.source).toBe('prior');
    expect(r.fallback).toBeUndefined();
    expect(r.mask).toEqual(ellipticalPrior(S, 'utkface-crop'));
  });

  it('auto with a parsing map uses it; a landmark provider is used where there is none, its mask resized to the cache size', async () => {
    const L = new Uint8Array(32 * 32).fill(1);
    const p = join(tmp.dir, 'skin.png');
    writeFileSync(p, await labelPng(L, 32, 32));
    const withMap = await resolveMask({ ...item, parsingPath: p }, chain({ plugins: { landmarks: half } }), work);
    expect(withMap.source).toBe('parsing');
    expect([...withMap.mask].every((v) => v === 255)).toBe(true);

    const lm = await resolveMask(item, chain({ plugins: { landmarks: half } }), work);
    expect(lm.source).toBe('landmarks');
    expect(lm.mask.length).toBe(S * S);
    expect(lm.mask[0]).toBe(255);
    expect(lm.mask[S - 1]).toBe(0);
  });

  it('a failing or misbehaving provider falls back to the prior, and says why', async () => {
    const noFace: MaskProvider = async () => {
      throw new Error('no face found');
    };
    const r = await resolveMask(item, chain({ plugins: { landmarks: noFace } }), work);
    expect(r.source).toBe('prior');
    expect(r.fallback).toBe('landmarks: no face found');
    const wrong: MaskProvider = async () => ({ mask: new Uint8Array(3), source: 'segmentation' });
    const r2 = await resolveMask(item, chain({ mode: 'landmarks', plugins: { landmarks: wrong } }), work);
    expect(r2.source).toBe('prior');
    expect(r2.fallback).toMatch(/returned 3 mask bytes for a 32×32 image/);
  });

  it('a broken parsing map fails the sample (kind bad-mask) instead of hiding behind the prior', async () => {
    const bad = join(tmp.dir, 'broken.png');
    writeFileSync(bad, 'not a png');
    await expect(resolveMask({ ...item, parsingPath: bad }, chain(), work)).rejects.toMatchObject({
      kind: 'bad-mask',
      message: /parsing map of a\.jpg: is not an image/,
    });
  });

  it('--masks landmarks needs a landmark provider; the chain steps are recorded', () => {
    expect(() => checkMaskMode('landmarks', {})).toThrow(ConfigError);
    expect(() => checkMaskMode('landmarks', {})).toThrow(/no landmark mask provider is available/);
    expect(() => checkMaskMode('landmarks', { landmarks: half })).not.toThrow();
    expect(maskChainSteps('auto', {})).toEqual(['parsing', 'mask-file', 'prior']);
    expect(maskChainSteps('auto', { landmarks: half })).toEqual(['parsing', 'mask-file', 'landmarks', 'prior']);
    expect(maskChainSteps('prior', { landmarks: half })).toEqual(['prior']);
    expect(maskChainSteps('auto', {}, 'utkface')).toEqual(['prior']);
    expect(maskChainSteps('auto', { landmarks: half }, 'ffhq-aging')).toEqual(['parsing', 'landmarks', 'prior']);
    expect(maskChainSteps('auto', {}, 'csv')).toEqual(['mask-file', 'prior']);
  });
});
