import { ShapeError } from '@ragan/core';
import { createRng, sampleIndices } from '../rng.js';
import type { FeatureSet } from './features.js';

export interface KidOptions {
  /** Number of random subsets averaged. Default 100 (Bińkowski et al.; torch-fidelity). */
  subsets?: number;
  /** Subset size; capped at the smaller set. Default 1000. */
  subsetSize?: number;
  /** Seed of the subset draws. Default 0. */
  seed?: number;
}

export interface KidResult {
  /** Mean of the unbiased MMD² estimates over subsets. */
  mean: number;
  /** Their standard deviation (0 when every subset is the whole set). */
  std: number;
  subsetSize: number;
  subsets: number;
}

/**
 * Kernel Inception Distance (Bińkowski et al. 2018): the unbiased estimator of the squared MMD with the
 * cubic polynomial kernel k(x, y) = (xᵀy / d + 1)³, averaged over random equal-size subsets of the
 * two sets (drawn without replacement, seeded). Unbiased means it can be negative for sets from one
 * distribution; it is reported as is. Needs at least 2 vectors per set.
 *
 * The Gram matrices of the full sets are computed once in float64 (memory ∝ n²; fine for the few
 * thousand faces per group an evaluation has).
 */
export function kernelInceptionDistance(x: FeatureSet, y: FeatureSet, opts: KidOptions = {}): KidResult {
  if (x.d !== y.d) throw new ShapeError(`KID: feature sets have ${x.d} and ${y.d} dimensions`);
  if (x.n < 2 || y.n < 2) throw new ShapeError(`KID needs at least 2 feature vectors per set, got ${x.n} and ${y.n}`);
  const subsets = opts.subsets ?? 100;
  const s = Math.min(opts.subsetSize ?? 1000, x.n, y.n);
  if (!(Number.isInteger(subsets) && subsets >= 1)) throw new ShapeError(`KID: subsets must be a positive integer, got ${subsets}`);
  if (s < 2) throw new ShapeError(`KID: subsetSize must be at least 2, got ${opts.subsetSize}`);
  const kxx = polyGram(x, x);
  const kyy = polyGram(y, y);
  const kxy = polyGram(x, y);
  const rng = createRng(opts.seed ?? 0);
  const values: number[] = [];
  for (let t = 0; t < subsets; t++) {
    const ix = x.n === s ? range(s) : sampleIndices(x.n, s, rng);
    const iy = y.n === s ? range(s) : sampleIndices(y.n, s, rng);
    values.push(unbiasedMmd2(kxx, x.n, ix, kyy, y.n, iy, kxy));
  }
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length);
  return { mean, std, subsetSize: s, subsets };
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** k(a_i, b_j) = (a_i·b_j / d + 1)³ for all pairs, row-major `a.n × b.n`. */
function polyGram(a: FeatureSet, b: FeatureSet): Float64Array {
  const d = a.d;
  const out = new Float64Array(a.n * b.n);
  for (let i = 0; i < a.n; i++) {
    for (let j = 0; j < b.n; j++) {
      let dot = 0;
      for (let k = 0; k < d; k++) dot += a.data[i * d + k]! * b.data[j * d + k]!;
      out[i * b.n + j] = (dot / d + 1) ** 3;
    }
  }
  return out;
}

/** Unbiased MMD²: mean off-diagonal k within each subset minus twice the mean cross k. */
function unbiasedMmd2(kxx: Float64Array, nx: number, ix: number[], kyy: Float64Array, ny: number, iy: number[], kxy: Float64Array): number {
  const m = ix.length;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let a = 0; a < m; a++) {
    for (let b = 0; b < m; b++) {
      if (a !== b) {
        sxx += kxx[ix[a]! * nx + ix[b]!]!;
        syy += kyy[iy[a]! * ny + iy[b]!]!;
      }
      sxy += kxy[ix[a]! * ny + iy[b]!]!;
    }
  }
  return sxx / (m * (m - 1)) + syy / (m * (m - 1)) - (2 * sxy) / (m * m);
}
