import { EigenvalueDecomposition, Matrix, SingularValueDecomposition } from 'ml-matrix';
import { ShapeError } from '@ragan/core';
import { centered, featureCovariance, featureMean, type FeatureSet } from './features.js';

/**
 * Fréchet distance between two Gaussians N(mu1, S1), N(mu2, S2):
 *   |mu1 - mu2|² + Tr(S1 + S2 - 2 (S1 S2)^{1/2}).
 * S1 S2 is not symmetric, but it is similar to the PSD matrix S1^{1/2} S2 S1^{1/2}, so
 * Tr((S1 S2)^{1/2}) = Σ sqrt(λ_i(S1^{1/2} S2 S1^{1/2})): two symmetric eigendecompositions (ml-matrix),
 * which are stable where a general sqrtm (scipy's, in pytorch-fid) can return complex round-off.
 * Covariances are `d × d` row-major; tiny negative eigenvalues from round-off are clamped to 0, and so
 * is the result (a distance cannot be negative).
 */
export function frechetDistance(mu1: ArrayLike<number>, sigma1: ArrayLike<number>, mu2: ArrayLike<number>, sigma2: ArrayLike<number>): number {
  const d = mu1.length;
  if (mu2.length !== d || sigma1.length !== d * d || sigma2.length !== d * d) {
    throw new ShapeError(
      `frechetDistance: means of length ${mu1.length} and ${mu2.length}, covariances of ${sigma1.length} and ${sigma2.length} values do not describe two ` +
        `${d}-D Gaussians`,
    );
  }
  let diff = 0;
  for (let i = 0; i < d; i++) diff += (mu1[i]! - mu2[i]!) ** 2;
  const s1 = toSymmetricMatrix(sigma1, d);
  const s2 = toSymmetricMatrix(sigma2, d);
  const s1h = psdSqrt(s1);
  const m = s1h.mmul(s2).mmul(s1h);
  const traceSqrt = new EigenvalueDecomposition(symmetrize(m), { assumeSymmetric: true }).realEigenvalues.reduce((t, l) => t + Math.sqrt(Math.max(l, 0)), 0);
  return Math.max(0, diff + s1.trace() + s2.trace() - 2 * traceSqrt);
}

/**
 * FID between two feature sets (each ≥ 2 vectors). When either set has fewer vectors than dimensions
 * (small evaluation sets, 2048-D Inception features) the covariances are rank-deficient and the trace
 * term has a cheaper exact form: with A, B the centred feature matrices,
 *   Tr((S1 S2)^{1/2}) = ‖A Bᵀ‖_* / sqrt((n1 - 1)(n2 - 1))   (nuclear norm: sum of singular values),
 * because S1 S2's non-zero eigenvalues are those of (A Bᵀ)(A Bᵀ)ᵀ up to that scale. It avoids
 * decomposing d × d matrices. Otherwise the covariance form (`frechetDistance`) is used.
 */
export function fidFromFeatures(a: FeatureSet, b: FeatureSet, opts: { method?: 'auto' | 'covariance' | 'gram' } = {}): number {
  if (a.d !== b.d) throw new ShapeError(`FID: feature sets have ${a.d} and ${b.d} dimensions`);
  if (a.n < 2 || b.n < 2) throw new ShapeError(`FID needs at least 2 feature vectors per set, got ${a.n} and ${b.n}`);
  const method = opts.method ?? 'auto';
  const mu1 = featureMean(a);
  const mu2 = featureMean(b);
  if (method === 'covariance' || (method === 'auto' && Math.min(a.n, b.n) >= a.d)) {
    return frechetDistance(mu1, featureCovariance(a, mu1), mu2, featureCovariance(b, mu2));
  }
  const d = a.d;
  const ca = centered(a, mu1);
  const cb = centered(b, mu2);
  let diff = 0;
  for (let i = 0; i < d; i++) diff += (mu1[i]! - mu2[i]!) ** 2;
  let trA = 0;
  for (const v of ca) trA += v * v;
  let trB = 0;
  for (const v of cb) trB += v * v;
  trA /= a.n - 1;
  trB /= b.n - 1;
  const c = new Matrix(a.n, b.n);
  for (let i = 0; i < a.n; i++) {
    for (let j = 0; j < b.n; j++) {
      let s = 0;
      const oi = i * d;
      const oj = j * d;
      for (let k = 0; k < d; k++) s += ca[oi + k]! * cb[oj + k]!;
      c.set(i, j, s);
    }
  }
  const sv = new SingularValueDecomposition(c, { computeLeftSingularVectors: false, computeRightSingularVectors: false, autoTranspose: true }).diagonal;
  const nuclear = sv.reduce((t, x) => t + Math.max(x, 0), 0);
  return Math.max(0, diff + trA + trB - (2 * nuclear) / Math.sqrt((a.n - 1) * (b.n - 1)));
}

function toSymmetricMatrix(values: ArrayLike<number>, d: number): Matrix {
  const m = new Matrix(d, d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) m.set(i, j, (values[i * d + j]! + values[j * d + i]!) / 2);
  return m;
}

function symmetrize(m: Matrix): Matrix {
  return m.add(m.transpose()).div(2);
}

/** Principal square root of a symmetric PSD matrix via its eigendecomposition (negative round-off clamped). */
function psdSqrt(s: Matrix): Matrix {
  const evd = new EigenvalueDecomposition(s, { assumeSymmetric: true });
  const v = evd.eigenvectorMatrix;
  const roots = evd.realEigenvalues.map((l) => Math.sqrt(Math.max(l, 0)));
  return v.mmul(Matrix.diag(roots)).mmul(v.transpose());
}
