import type { FaceEmbedder, FeatureExtractor } from '../interfaces.js';

/**
 * A face-recognition embedder used as the FID/KID feature space. Non-standard: numbers are not
 * comparable with published FIDs (which use Inception-v3 pool_3), only with other results that used the
 * same embedder; the results and the leaderboard label them so. Identity networks are trained to ignore
 * age, which makes this space insensitive to exactly what re-aging changes: read it as "does it still
 * look like a face of this kind", not as an age-realism score.
 */
export function embedderFeatureExtractor(embedder: FaceEmbedder, opts: { name?: string; weightsSha256?: string } = {}): FeatureExtractor {
  return {
    name: opts.name ?? `${embedder.name} (non-standard)`,
    standard: false,
    dims: embedder.dims,
    ...(opts.weightsSha256 ? { weightsSha256: opts.weightsSha256 } : {}),
    extract: (images) => embedder.embed(images),
  };
}
