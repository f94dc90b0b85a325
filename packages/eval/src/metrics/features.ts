import { ShapeError } from '@ragan/core';

/** `n` feature vectors of length `d`, row-major in one array (what FID and KID consume). */
export interface FeatureSet {
  readonly data: Float32Array | Float64Array;
  readonly n: number;
  readonly d: number;
}

/** A FeatureSet from rows (tests, small fixtures). Throws ShapeError on ragged rows. */
export function featureSet(rows: readonly (readonly number[])[], d = rows[0]?.length ?? 0): FeatureSet {
  const data = new Float64Array(rows.length * d);
  rows.forEach((r, i) => {
    if (r.length !== d) throw new ShapeError(`featureSet: row ${i} has ${r.length} values, expected ${d}`);
    data.set(r, i * d);
  });
  return { data, n: rows.length, d };
}

/** Grows a FeatureSet row by row (features arrive batch by batch during an evaluation). */
export class FeatureBuffer {
  private chunks: Float32Array[] = [];
  private rows = 0;
  constructor(readonly d: number) {}

  /** Appends `values.length / d` rows. */
  push(values: Float32Array): void {
    if (values.length % this.d !== 0) throw new ShapeError(`FeatureBuffer: ${values.length} values is not a whole number of ${this.d}-D rows`);
    this.chunks.push(values);
    this.rows += values.length / this.d;
  }

  get n(): number {
    return this.rows;
  }

  toSet(): FeatureSet {
    const data = new Float32Array(this.rows * this.d);
    let o = 0;
    for (const c of this.chunks) {
      data.set(c, o);
      o += c.length;
    }
    return { data, n: this.rows, d: this.d };
  }
}

/** Column means of a FeatureSet, in float64. */
export function featureMean(x: FeatureSet): Float64Array {
  const mu = new Float64Array(x.d);
  for (let i = 0; i < x.n; i++) for (let j = 0; j < x.d; j++) mu[j]! += x.data[i * x.d + j]!;
  for (let j = 0; j < x.d; j++) mu[j]! /= x.n;
  return mu;
}

/** Rows minus their column mean, float64 (FID's Gram form and the covariance both start here). */
export function centered(x: FeatureSet, mu = featureMean(x)): Float64Array {
  const out = new Float64Array(x.n * x.d);
  for (let i = 0; i < x.n; i++) for (let j = 0; j < x.d; j++) out[i * x.d + j] = x.data[i * x.d + j]! - mu[j]!;
  return out;
}

/** Unbiased covariance (divides by n - 1, as numpy.cov and pytorch-fid do), `d × d` row-major float64. */
export function featureCovariance(x: FeatureSet, mu = featureMean(x)): Float64Array {
  if (x.n < 2) throw new ShapeError(`a covariance needs at least 2 feature vectors, got ${x.n}`);
  const a = centered(x, mu);
  const { n, d } = x;
  const s = new Float64Array(d * d);
  // Symmetric: fill the upper triangle, mirror it. Row-wise accumulation keeps memory access linear.
  for (let k = 0; k < n; k++) {
    const row = k * d;
    for (let i = 0; i < d; i++) {
      const ai = a[row + i]!;
      if (ai === 0) continue;
      const si = i * d;
      for (let j = i; j < d; j++) s[si + j]! += ai * a[row + j]!;
    }
  }
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      const v = s[i * d + j]! / (n - 1);
      s[i * d + j] = v;
      s[j * d + i] = v;
    }
  }
  return s;
}
