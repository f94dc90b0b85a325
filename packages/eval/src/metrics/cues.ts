import * as tf from '@tensorflow/tfjs';
import { BRIGHTNESS_MARGIN, cueMaps } from '@ragan/core';
import type { MetricDefinition } from './registry.js';

/** A colour change (Cb or Cr, in the [-1, 1] range) above this counts as recolouring. */
export const COLOUR_CUE_THRESHOLD = 0.1;
/** A brightness change above this (the brightness loss's margin, 0.25 of the [-1, 1] range) counts as painting. */
export const BRIGHTNESS_CUE_THRESHOLD = BRIGHTNESS_MARGIN;

/** The blur of the `cues` metric: cells of 1/32 of the image's side (4 px at 128², 2 at 64²), at least 1 px. */
export const cuePool = (resolution: number): number => {
  const p = Math.max(1, Math.floor(resolution / 32));
  return resolution % p === 0 ? p : 1;
};

export interface CueShares {
  /** Share of the face (mask-weighted cells) whose blurred brightness moved by more than BRIGHTNESS_CUE_THRESHOLD. */
  brightShare: number;
  /** Share of the face whose blurred colour (Cb or Cr) moved by more than COLOUR_CUE_THRESHOLD. */
  colourShare: number;
}

export interface CuesMetricResult extends CueShares {
  pairs: number;
  /** The same shares per target group. */
  perGroup: Array<{ group: string; pairs: number } & CueShares>;
}

/**
 * How much of the face a re-ageing paints rather than ages [ours]: the share of the face (weighted by the
 * mask, after a blur of 1/32 of the side, so wrinkles and pores average out) where the brightness moved
 * by more than a quarter of the range, and where the colour moved by more than a tenth. Generators that
 * fool a frozen age classifier paint cues: black holes for eyes and mouth at young targets, teal or
 * orange eyes (docs/training-notes.md). Real ageing changes some regions that much too (a beard removed,
 * brows greyed), so 0 is not the goal; the identity baseline scores 0 and lower is better among models
 * of similar age accuracy.
 */
export const cuesMetric: MetricDefinition<CuesMetricResult> = {
  name: 'cues',
  description: 'share of the face painted darker/brighter or recoloured (blurred; brightness > 0.25, colour > 0.1 of the range)',
  requires: [],
  create(ctx) {
    const k = ctx.groups.groups.length;
    const acc = Array.from({ length: k }, () => ({ pairs: 0, weight: 0, bright: 0, colour: 0 }));
    return {
      async update(batch) {
        for (const t of batch.targets) {
          const m = cueMaps(t.outputs, t.inputs, t.masks, cuePool(t.inputs.shape[1]), 'cues metric');
          const sums = tf.tidy(() => {
            const bright = tf.cast(tf.greater(m.luma, BRIGHTNESS_CUE_THRESHOLD), 'float32');
            const colour = tf.cast(tf.greater(tf.max(m.chroma, 3, true), COLOUR_CUE_THRESHOLD), 'float32');
            return tf.stack([tf.sum(m.weight), tf.sum(tf.mul(bright, m.weight)), tf.sum(tf.mul(colour, m.weight))]);
          });
          const [w, b, c] = Array.from(await sums.data());
          tf.dispose([sums, m.luma, m.chroma, m.weight]);
          const g = acc[t.group]!;
          g.pairs += t.rows.length;
          g.weight += w!;
          g.bright += b!;
          g.colour += c!;
        }
      },
      async finish() {
        const share = (x: number, w: number) => (w > 0 ? x / w : 0);
        const all = acc.reduce(
          (s, g) => ({ pairs: s.pairs + g.pairs, weight: s.weight + g.weight, bright: s.bright + g.bright, colour: s.colour + g.colour }),
          {
            pairs: 0,
            weight: 0,
            bright: 0,
            colour: 0,
          },
        );
        return {
          pairs: all.pairs,
          brightShare: share(all.bright, all.weight),
          colourShare: share(all.colour, all.weight),
          perGroup: ctx.groups.groups.map((gr, i) => ({
            group: gr.label,
            pairs: acc[i]!.pairs,
            brightShare: share(acc[i]!.bright, acc[i]!.weight),
            colourShare: share(acc[i]!.colour, acc[i]!.weight),
          })),
        };
      },
    };
  },
};
