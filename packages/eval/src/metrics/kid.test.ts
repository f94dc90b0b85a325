import { describe, expect, it } from 'vitest';
import { createRng, normal } from '../rng.js';
import { featureSet } from './features.js';
import { kernelInceptionDistance } from './kid.js';

describe('kernelInceptionDistance', () => {
  it('matches a hand computation: d = 1, X = {0, 1}, Y = {1, 2}, k = (xy + 1)³', () => {
    // Kxx off-diagonal: k(0,1) = 1 (twice) → mean 1; Kyy: k(1,2) = 27 → mean 27;
    // Kxy: k(0,1) + k(0,2) + k(1,1) + k(1,2) = 1 + 1 + 8 + 27 = 37 → mean 9.25. MMD² = 1 + 27 - 18.5.
    const r = kernelInceptionDistance(featureSet([[0], [1]]), featureSet([[1], [2]]));
    expect(r.mean).toBeCloseTo(9.5, 12);
    expect(r.std).toBe(0);
    expect(r.subsetSize).toBe(2);
  });

  it('is unbiased: two samples of one distribution average ≈ 0 over repeats (and can go negative)', () => {
    const rng = createRng(11);
    const draw = (shift: number) => featureSet(Array.from({ length: 15 }, () => Array.from({ length: 3 }, () => shift + normal(rng))));
    const same: number[] = [];
    for (let t = 0; t < 300; t++) same.push(kernelInceptionDistance(draw(0), draw(0), { subsets: 1 }).mean);
    const mean = same.reduce((a, b) => a + b, 0) / same.length;
    const sem = Math.sqrt(same.reduce((a, v) => a + (v - mean) ** 2, 0) / (same.length - 1) / same.length);
    expect(Math.abs(mean)).toBeLessThan(3 * sem);
    expect(same.some((v) => v < 0)).toBe(true);
    // A shifted distribution is far from 0 by the same yardstick.
    const shifted = kernelInceptionDistance(draw(0), draw(1), { subsets: 1 }).mean;
    expect(shifted).toBeGreaterThan(10 * sem);
  });

  it('subsets are seeded: same seed same value, std > 0 when subsets differ', () => {
    const rng = createRng(5);
    const a = featureSet(Array.from({ length: 30 }, () => [normal(rng), normal(rng)]));
    const b = featureSet(Array.from({ length: 40 }, () => [normal(rng) + 0.5, normal(rng)]));
    const r1 = kernelInceptionDistance(a, b, { subsets: 20, subsetSize: 10, seed: 3 });
    const r2 = kernelInceptionDistance(a, b, { subsets: 20, subsetSize: 10, seed: 3 });
    expect(r1).toEqual(r2);
    expect(r1.std).toBeGreaterThan(0);
    expect(r1.subsetSize).toBe(10);
  });

  it('refuses sets of one vector or mismatched dimensions', () => {
    expect(() => kernelInceptionDistance(featureSet([[1]]), featureSet([[1], [2]]))).toThrow(/at least 2/);
    expect(() =>
      kernelInceptionDistance(
        featureSet([[1], [2]]),
        featureSet([
          [1, 1],
          [2, 2],
        ]),
      ),
    ).toThrow(/dimensions/);
  });
});
