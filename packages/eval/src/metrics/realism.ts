import type * as tf from '@tensorflow/tfjs';
import { ShapeError } from '@ragan/core';
import type { FeatureExtractor } from '../interfaces.js';
import { FeatureBuffer } from './features.js';
import { fidFromFeatures } from './fid.js';
import { kernelInceptionDistance } from './kid.js';
import type { MetricContext, MetricDefinition } from './registry.js';

export interface RealismScores {
  /** Real test faces of the group and faces generated for it. */
  nReal: number;
  nGenerated: number;
  /** Null when either side has fewer than 2 faces. */
  fid: number | null;
  kid: number | null;
  kidStd: number | null;
}

export interface RealismMetricResult {
  extractor: { name: string; standard: boolean; dims: number; weightsSha256: string | null };
  perGroup: Array<RealismScores & { group: string }>;
  /** Mean FID / KID over the groups that have both. */
  meanFid: number | null;
  meanKid: number | null;
  /** Every generated face against every real one, groups pooled. */
  pooled: RealismScores;
}

/** Feature-set size under which FID/KID of a group is not computed at all. */
const MIN_FACES = 2;

async function features(extractor: FeatureExtractor, images: tf.Tensor4D): Promise<Float32Array> {
  const f = await extractor.extract(images);
  try {
    if (f.rank !== 2 || f.shape[0] !== images.shape[0] || f.shape[1] !== extractor.dims) {
      throw new ShapeError(
        `feature extractor "${extractor.name}" returned [${f.shape}] for ${images.shape[0]} images; expected [${images.shape[0]}, ${extractor.dims}]`,
      );
    }
    return (await f.data()) as Float32Array;
  } finally {
    f.dispose();
  }
}

function scores(real: FeatureBuffer, gen: FeatureBuffer, seed: number): RealismScores {
  if (real.n < MIN_FACES || gen.n < MIN_FACES) return { nReal: real.n, nGenerated: gen.n, fid: null, kid: null, kidStd: null };
  const r = real.toSet();
  const g = gen.toSet();
  const kid = kernelInceptionDistance(g, r, { seed });
  return { nReal: r.n, nGenerated: g.n, fid: fidFromFeatures(g, r), kid: kid.mean, kidStd: kid.std };
}

/**
 * FID and KID per target group between the faces generated for that group and the real test faces
 * labelled with it (all of them, including those never re-aged to it). With small test sets these are
 * noisy and biased upwards (FID especially); compare numbers only at equal set sizes.
 */
export const realismMetric: MetricDefinition<RealismMetricResult> = {
  name: 'realism',
  description: 'FID and KID per target group between generated and real test faces of that group',
  requires: ['extractor'],
  create(ctx: MetricContext) {
    const ex = ctx.extractor!;
    const k = ctx.groups.groups.length;
    const real = Array.from({ length: k }, () => new FeatureBuffer(ex.dims));
    const gen = Array.from({ length: k }, () => new FeatureBuffer(ex.dims));
    return {
      async update(batch) {
        const f = await features(ex, batch.inputs);
        batch.sourceGroups.forEach((g, i) => real[g]!.push(f.slice(i * ex.dims, (i + 1) * ex.dims)));
        for (const t of batch.targets) gen[t.group]!.push(await features(ex, t.outputs));
      },
      async finish() {
        const perGroup = ctx.groups.groups.map((g, i) => ({ group: g.label, ...scores(real[i]!, gen[i]!, ctx.seed + i) }));
        const allReal = new FeatureBuffer(ex.dims);
        const allGen = new FeatureBuffer(ex.dims);
        for (let i = 0; i < k; i++) {
          allReal.push(real[i]!.toSet().data as Float32Array);
          allGen.push(gen[i]!.toSet().data as Float32Array);
        }
        const withFid = perGroup.filter((p) => p.fid !== null);
        return {
          extractor: { name: ex.name, standard: ex.standard, dims: ex.dims, weightsSha256: ex.weightsSha256 ?? null },
          perGroup,
          meanFid: withFid.length ? withFid.reduce((a, p) => a + p.fid!, 0) / withFid.length : null,
          meanKid: withFid.length ? withFid.reduce((a, p) => a + p.kid!, 0) / withFid.length : null,
          pooled: scores(allReal, allGen, ctx.seed + k),
        };
      },
    };
  },
};
