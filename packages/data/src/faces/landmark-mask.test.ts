import { describe, expect, it } from 'vitest';
import { syntheticLandmarks68 } from '@ragan/test-utils/photos';
import { landmarkMask, landmarkMaskPolygon } from '@ragan/core';
import { featherMask, fillPolygon } from '@ragan/core';

const at = (m: Uint8Array, w: number, x: number, y: number) => m[Math.floor(y) * w + Math.floor(x)]!;

describe('fillPolygon / featherMask', () => {
  it('fills a square exactly at pixel centres and feathers into a ramp', () => {
    const m = fillPolygon(
      [
        [2, 2],
        [6, 2],
        [6, 6],
        [2, 6],
      ],
      8,
      8,
    );
    expect(Array.from(m).filter((v) => v === 255).length).toBe(16);
    expect(at(m, 8, 2, 2)).toBe(255);
    expect(at(m, 8, 6, 6)).toBe(0);
    const f = featherMask(m, 8, 8, 1);
    expect(Array.from(f).some((v) => v > 0 && v < 255)).toBe(true);
    expect(featherMask(m, 8, 8, 0)).toEqual(m);
  });
});

describe('landmarkMask', () => {
  const size = 256;
  const lm = syntheticLandmarks68(128, 110, 60);

  it('covers the face centre, the forehead above the brows, and excludes the corners', () => {
    const m = landmarkMask(lm, size);
    expect(m.length).toBe(size * size);
    expect(at(m, size, 128, 140)).toBe(255); // nose
    expect(at(m, size, 128, 110)).toBe(255); // between the eyes
    expect(at(m, size, 128, 110 - 0.35 * 60 - 0.5 * 150 * 0.7 * 0.9)).toBeGreaterThan(200); // forehead, above the brows
    for (const [x, y] of [
      [2, 2],
      [253, 2],
      [2, 253],
      [253, 253],
    ])
      expect(at(m, size, x!, y!)).toBe(0);
    expect(at(m, size, 128, 110 + 1.5 * 60 + 0.12 * 60 + 10)).toBe(0); // below the chin
    // soft edge
    expect(Array.from(m).some((v) => v > 0 && v < 255)).toBe(true);
    // hard edge when feather = 0
    expect(Array.from(landmarkMask(lm, size, { feather: 0 })).every((v) => v === 0 || v === 255)).toBe(true);
  });

  it('follows a tilted face, and the forehead grows with foreheadRaise', () => {
    const tilted = syntheticLandmarks68(128, 128, 60, Math.PI / 6);
    const m = landmarkMask(tilted, size, { feather: 0 });
    // "up" for this face points to (sin, -cos)·d from the eye midpoint
    const up = (d: number): [number, number] => [128 + Math.sin(Math.PI / 6) * d, 128 - Math.cos(Math.PI / 6) * d];
    expect(at(m, size, ...up(50))).toBe(255);
    const small = landmarkMask(lm, size, { feather: 0, foreheadRaise: 0.2 });
    const big = landmarkMask(lm, size, { feather: 0, foreheadRaise: 1.0 });
    const count = (x: Uint8Array) => x.reduce((s, v) => s + (v ? 1 : 0), 0);
    expect(count(big)).toBeGreaterThan(count(small) * 1.2);
    expect(landmarkMaskPolygon(lm).length).toBe(17 + 2 + 10);
  });

  it('refuses a wrong landmark count', () => {
    expect(() => landmarkMask(lm.slice(0, 5), size)).toThrow(/68 landmarks/);
  });
});
