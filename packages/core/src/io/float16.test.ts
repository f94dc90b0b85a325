import { describe, expect, it } from 'vitest';
import { FLOAT16_MAX, float16ToFloat32, float32ToFloat16, fromFloat16Bits, toFloat16Bits } from './float16.js';

describe('float16', () => {
  it('every non-NaN half bit pattern survives half → float32 → half exactly; NaN stays NaN with its sign', () => {
    for (let h = 0; h < 65536; h++) {
      const back = toFloat16Bits(fromFloat16Bits(h));
      const isNaN16 = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      // JS numbers quiet signalling NaNs (payload bit 9 gets set), so only NaN-ness and sign are kept.
      const ok = isNaN16 ? (back & 0xfc00) === (h & 0xfc00) && (back & 0x3ff) !== 0 : back === h;
      if (!ok) throw new Error(`0x${h.toString(16)} came back as 0x${back.toString(16)}`);
    }
  });

  it('encodes edge values', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [FLOAT16_MAX, 0x7bff],
      [65519, 0x7bff], // below the midpoint to the next (virtual) step: rounds down
      [65520, 0x7c00], // midpoint rounds to even = Infinity
      [1e6, 0x7c00],
      [-1e6, 0xfc00],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // half of it: tie to even → 0
      [2 ** -25 * 1.0001, 0x0001], // just above the tie
      [-(2 ** -25) * 1.0001, 0x8001],
      [2 ** -26, 0x0000],
      [1e-45, 0x0000], // float32 subnormal
      [3 * 2 ** -25, 0x0002], // 1.5 units: tie → even (2)
      [1023 * 2 ** -24 + 2 ** -25, 0x0400], // largest subnormal + half step carries into the smallest normal
      [1 + 2 ** -11, 0x3c00], // tie between 1 and 1+2^-10 → even (1)
      [1 + 3 * 2 ** -11, 0x3c02], // tie → even mantissa 2
      [1 + 2 ** -11 + 2 ** -20, 0x3c01],
    ];
    for (const [v, bits] of cases) expect(toFloat16Bits(v), `encode ${v}`).toBe(bits);
    expect(toFloat16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(toFloat16Bits(NaN) & 0x3ff).not.toBe(0);
  });

  it('decodes edge values', () => {
    expect(fromFloat16Bits(0x7bff)).toBe(65504);
    expect(fromFloat16Bits(0x0001)).toBe(2 ** -24);
    expect(fromFloat16Bits(0x03ff)).toBe(1023 * 2 ** -24);
    expect(fromFloat16Bits(0x0400)).toBe(2 ** -14);
    expect(Object.is(fromFloat16Bits(0x8000), -0)).toBe(true);
    expect(fromFloat16Bits(0x7c00)).toBe(Infinity);
    expect(fromFloat16Bits(0xfc00)).toBe(-Infinity);
    expect(Number.isNaN(fromFloat16Bits(0x7e00))).toBe(true);
    expect(fromFloat16Bits(0x3555)).toBeCloseTo(0.333251953125, 12);
  });

  it('array round trip stays within 2^-11 relative for normal values and 2^-25 absolute below', () => {
    let s = 12345;
    const rand = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const src = new Float32Array(20000);
    for (let i = 0; i < src.length; i++) src[i] = (rand() - 0.5) * 10 ** (rand() * 12 - 8); // 1e-8 .. 1e4
    const back = float16ToFloat32(float32ToFloat16(src));
    for (let i = 0; i < src.length; i++) {
      const a = src[i]!;
      const err = Math.abs(back[i]! - a);
      if (Math.abs(a) >= 2 ** -14) expect(err / Math.abs(a)).toBeLessThanOrEqual(2 ** -11);
      else expect(err).toBeLessThanOrEqual(2 ** -25);
    }
  });
});
