import { describe, expect, it } from 'vitest';
import { createRng, normal } from '../rng.js';
import { featureCovariance, featureMean, featureSet, type FeatureSet } from './features.js';
import { fidFromFeatures, frechetDistance } from './fid.js';

// References below avoid ml-matrix on purpose: plain-JS Gauss–Jordan and the Denman–Beavers iteration.
type M = number[][];
const mm = (a: M, b: M): M => a.map((r) => b[0]!.map((_, j) => r.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
const eye = (n: number): M => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
function inv(a: M): M {
  const n = a.length;
  const m = a.map((r, i) => [...r, ...eye(n)[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    const piv = m[c]![c]!;
    m[c] = m[c]!.map((v) => v / piv);
    for (let r = 0; r < n; r++) if (r !== c) m[r] = m[r]!.map((v, j) => v - m[r]![c]! * m[c]![j]!);
  }
  return m.map((r) => r.slice(n));
}
/** Principal square root of a matrix with positive real eigenvalues (Denman–Beavers). */
function sqrtmDB(a: M): M {
  let y = a;
  let z = eye(a.length);
  for (let k = 0; k < 60; k++) {
    const yi = inv(y);
    const zi = inv(z);
    y = y.map((r, i) => r.map((v, j) => (v + zi[i]![j]!) / 2));
    z = z.map((r, i) => r.map((v, j) => (v + yi[i]![j]!) / 2));
  }
  return y;
}
const trace = (a: M): number => a.reduce((s, r, i) => s + r[i]!, 0);
function referenceFid(mu1: number[], s1: M, mu2: number[], s2: M): number {
  const diff = mu1.reduce((s, v, i) => s + (v - mu2[i]!) ** 2, 0);
  return diff + trace(s1) + trace(s2) - 2 * trace(sqrtmDB(mm(s1, s2)));
}
const flat = (a: M): number[] => a.flat();

function randomSpd(d: number, rng: () => number): M {
  const a = Array.from({ length: d }, () => Array.from({ length: d }, () => normal(rng)));
  const at = a[0]!.map((_, j) => a.map((r) => r[j]!));
  return mm(a, at).map((r, i) => r.map((v, j) => v + (i === j ? 0.5 : 0)));
}
function gaussianSet(n: number, d: number, rng: () => number, shift = 0, scale = 1): FeatureSet {
  return featureSet(Array.from({ length: n }, () => Array.from({ length: d }, (_, j) => shift + (scale * (j + 1) * normal(rng)) / d)));
}

describe('frechetDistance (closed form for two Gaussians)', () => {
  it('diagonal covariances: |Δmu|² + Σ(√a - √b)²', () => {
    const s1 = [
      [1, 0, 0],
      [0, 4, 0],
      [0, 0, 9],
    ];
    const s2 = [
      [4, 0, 0],
      [0, 1, 0],
      [0, 0, 9],
    ];
    // 1 + 4 + (1-2)² + (2-1)² + 0 = 7
    expect(frechetDistance([0, 0, 0], flat(s1), [1, 2, 0], flat(s2))).toBeCloseTo(7, 10);
    expect(frechetDistance([0, 0, 0], flat(s1), [0, 0, 0], flat(s1))).toBeCloseTo(0, 10);
  });

  it('non-commuting 2×2: Tr√(S1S2) = sqrt(tr(S1S2) + 2 sqrt(det S1 det S2)) by hand', () => {
    const s1 = [
      [2, 1],
      [1, 2],
    ];
    const s2 = [
      [1, 0],
      [0, 3],
    ];
    expect(mm(s1, s2)).not.toEqual(mm(s2, s1)); // they do not commute
    const trS1S2 = trace(mm(s1, s2)); // 2 + 6 = 8
    const expected = 1 + 0 + (4 + 4) - 2 * Math.sqrt(trS1S2 + 2 * Math.sqrt(3 * 3));
    expect(frechetDistance([0, 0], flat(s1), [1, 0], flat(s2))).toBeCloseTo(expected, 10);
    expect(referenceFid([0, 0], s1, [1, 0], s2)).toBeCloseTo(expected, 10);
  });

  it('non-commuting 6×6 random covariances match a Denman–Beavers reference', () => {
    const rng = createRng(7);
    for (let t = 0; t < 3; t++) {
      const s1 = randomSpd(6, rng);
      const s2 = randomSpd(6, rng);
      const mu1 = Array.from({ length: 6 }, () => normal(rng));
      const mu2 = Array.from({ length: 6 }, () => normal(rng));
      const ref = referenceFid(mu1, s1, mu2, s2);
      expect(frechetDistance(mu1, flat(s1), mu2, flat(s2))).toBeCloseTo(ref, 7);
    }
  });

  it('refuses mismatched sizes', () => {
    expect(() => frechetDistance([0, 0], [1, 0, 0, 1], [0], [1])).toThrow(/two 2-D Gaussians/);
  });
});

describe('fidFromFeatures', () => {
  it('is ≈ 0 for a set against itself, with either method', () => {
    const rng = createRng(1);
    const small = gaussianSet(12, 32, rng); // n < d: Gram form
    const big = gaussianSet(80, 6, rng); // n > d: covariance form
    expect(fidFromFeatures(small, small)).toBeLessThan(1e-9);
    expect(fidFromFeatures(big, big)).toBeLessThan(1e-9);
    expect(fidFromFeatures(big, big, { method: 'gram' })).toBeLessThan(1e-9);
  });

  it('equals the closed form of the sample means and covariances; Gram and covariance forms agree', () => {
    const rng = createRng(2);
    for (const [n1, n2, d] of [
      [10, 14, 20],
      [40, 30, 5],
    ] as const) {
      const a = gaussianSet(n1, d, rng);
      const b = gaussianSet(n2, d, rng, 0.3, 2);
      const closed = frechetDistance(featureMean(a), featureCovariance(a), featureMean(b), featureCovariance(b));
      // Rank-deficient covariances (n < d) leave round-off eigenvalues ~1e-15 whose square roots add ~1e-7:
      // the Gram form avoids them, which is one reason it is used there.
      expect(fidFromFeatures(a, b, { method: 'gram' })).toBeCloseTo(closed, 5);
      expect(fidFromFeatures(a, b, { method: 'covariance' })).toBeCloseTo(closed, 8);
      expect(closed).toBeGreaterThan(0.1);
    }
  });

  it('a shifted copy gives exactly |shift|²', () => {
    const rng = createRng(3);
    const a = gaussianSet(25, 4, rng);
    const b = featureSet(Array.from({ length: a.n }, (_, i) => Array.from(a.data.slice(i * 4, i * 4 + 4), (v, j) => v + [1, 0, -2, 0][j]!)));
    expect(fidFromFeatures(a, b)).toBeCloseTo(5, 8);
  });

  it('refuses sets that cannot give a covariance', () => {
    const one = featureSet([[1, 2]]);
    expect(() => fidFromFeatures(one, one)).toThrow(/at least 2/);
  });
});
