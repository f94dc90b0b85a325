import { Rng } from '@ragan/core';

/**
 * Seeded randomness for subset selection and KID subsets: results must be reproducible for a seed, so
 * nothing here touches Math.random. core's one Rng (mulberry32 engine) started where this function's
 * own copy of mulberry32 used to start, so a seed picks the same test faces as before.
 */
export function createRng(seed: number): () => number {
  const rng = Rng.mulberry32State((Math.floor(seed) ^ 0x9e3779b9) >>> 0);
  return () => rng.next();
}

/** The first `k` entries of a seeded Fisher–Yates shuffle of 0..n-1 (a uniform k-subset, in shuffled order). */
export function sampleIndices(n: number, k: number, rng: () => number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  const m = Math.min(k, n);
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(rng() * (n - i));
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
  }
  return idx.slice(0, m);
}

/** Standard normal draw (Box–Muller), for tests and synthetic data. */
export function normal(rng: () => number): number {
  const u = Math.max(rng(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}
