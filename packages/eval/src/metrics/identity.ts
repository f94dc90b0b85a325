import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '@ragan/core';
import type { FaceEmbedder } from '../interfaces.js';
import { meanOrNull, type GeneratedBatch, type MetricContext, type MetricDefinition } from './registry.js';

export interface IdentityScores {
  embedder: string;
  /** The embedder's same-person distance threshold (0.6 for face-api). */
  threshold: number;
  pairs: number;
  /** Mean Euclidean distance between the embeddings of input and output. */
  meanDistance: number;
  /** Share of pairs closer than `threshold`: the output still passes as the same person. */
  shareBelowThreshold: number;
  perGroup: Array<{ group: string; pairs: number; meanDistance: number | null; shareBelowThreshold: number | null }>;
  /** The same per subgroup of the faces, when the evaluation was given subgroups. */
  byStratum?: Record<string, { pairs: number; meanDistance: number | null; shareBelowThreshold: number | null }>;
}

/** Primary embedder's scores, plus any further embedders (a second network is a useful cross-check). */
export interface IdentityMetricResult extends IdentityScores {
  others: IdentityScores[];
}

/** Euclidean distance of each row pair `a[i]`, `b[i]` (`[N, D]` each). Inputs are not disposed. */
export async function rowDistances(a: tf.Tensor2D, b: tf.Tensor2D): Promise<number[]> {
  if (a.shape.join() !== b.shape.join()) throw new ShapeError(`embeddings of shape ${a.shape} and ${b.shape} cannot be compared`);
  const d = tf.tidy(() => tf.sqrt(tf.sum(tf.square(tf.sub(a, b)), 1)));
  try {
    return Array.from(await d.data());
  } finally {
    d.dispose();
  }
}

function accumulator(embedder: FaceEmbedder, labels: string[]) {
  const k = labels.length;
  const sum = new Array<number>(k).fill(0);
  const below = new Array<number>(k).fill(0);
  const pairs = new Array<number>(k).fill(0);
  const thr = embedder.sameIdentityThreshold;
  const strata = new Map<string, { pairs: number; sum: number; below: number }>();
  const embed = async (x: tf.Tensor4D): Promise<tf.Tensor2D> => {
    const e = await embedder.embed(x);
    if (e.rank !== 2 || e.shape[0] !== x.shape[0]) {
      e.dispose();
      throw new ShapeError(`embedder "${embedder.name}" returned shape [${e.shape}] for ${x.shape[0]} images; expected [${x.shape[0]}, D]`);
    }
    return e;
  };
  return {
    async update(batch: GeneratedBatch) {
      // Inputs are embedded once per batch and reused for every target group.
      const inEmb = await embed(batch.inputs);
      try {
        for (const t of batch.targets) {
          const outEmb = await embed(t.outputs);
          const sel = tf.gather(inEmb, t.rows);
          try {
            const ds = await rowDistances(sel, outEmb);
            ds.forEach((dist, j) => {
              pairs[t.group]!++;
              sum[t.group]! += dist;
              if (dist < thr) below[t.group]!++;
              for (const name of batch.sourceStrata?.[t.rows[j]!] ?? []) {
                let st = strata.get(name);
                if (!st) strata.set(name, (st = { pairs: 0, sum: 0, below: 0 }));
                st.pairs++;
                st.sum += dist;
                if (dist < thr) st.below++;
              }
            });
          } finally {
            tf.dispose([outEmb, sel]);
          }
        }
      } finally {
        inEmb.dispose();
      }
    },
    finish(): IdentityScores {
      const total = pairs.reduce((a, b) => a + b, 0);
      return {
        embedder: embedder.name,
        threshold: thr,
        pairs: total,
        meanDistance: total ? sum.reduce((a, b) => a + b, 0) / total : 0,
        shareBelowThreshold: total ? below.reduce((a, b) => a + b, 0) / total : 0,
        perGroup: labels.map((group, i) => ({
          group,
          pairs: pairs[i]!,
          meanDistance: meanOrNull(sum[i]!, pairs[i]!),
          shareBelowThreshold: meanOrNull(below[i]!, pairs[i]!),
        })),
        ...(strata.size
          ? {
              byStratum: Object.fromEntries(
                [...strata.keys()].sort().map((name) => {
                  const st = strata.get(name)!;
                  return [name, { pairs: st.pairs, meanDistance: meanOrNull(st.sum, st.pairs), shareBelowThreshold: meanOrNull(st.below, st.pairs) }];
                }),
              ),
            }
          : {}),
      };
    },
  };
}

/** Identity preservation: embedding distance between each input and its re-aged outputs. */
export const identityMetric: MetricDefinition<IdentityMetricResult> = {
  name: 'identity',
  description: 'face-recognition embedding distance between input and output, and the share under the same-person threshold',
  requires: ['embedder'],
  create(ctx: MetricContext) {
    const labels = ctx.groups.groups.map((g) => g.label);
    const accs = ctx.embedders.map((e) => accumulator(e, labels));
    return {
      async update(batch) {
        for (const a of accs) await a.update(batch);
      },
      async finish() {
        const [primary, ...others] = accs.map((a) => a.finish());
        return { ...primary!, others };
      },
    };
  },
};
