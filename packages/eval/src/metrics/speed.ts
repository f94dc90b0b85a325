import type { MetricContext, MetricDefinition } from './registry.js';

export interface SpeedMetricResult {
  backend: string;
  /** Images generated and timed (the first call is excluded as warm-up when there are more). */
  images: number;
  /** Generation time per image in milliseconds, warm-up excluded. */
  msPerImage: number;
  /** The first (warm-up) call: kernel compilation, weight upload. */
  warmupMs: number;
}

/** Generation speed on the active backend. Informative only: it depends on the machine. */
export const speedMetric: MetricDefinition<SpeedMetricResult> = {
  name: 'speed',
  description: 'milliseconds per generated image and the backend',
  requires: [],
  create(ctx: MetricContext) {
    let first: { ms: number; n: number } | undefined;
    let ms = 0;
    let n = 0;
    return {
      async update(batch) {
        for (const t of batch.targets) {
          if (!first) first = { ms: t.generateMs, n: t.rows.length };
          else {
            ms += t.generateMs;
            n += t.rows.length;
          }
        }
      },
      async finish() {
        // With a single call there is nothing but the warm-up to report.
        if (n === 0 && first) return { backend: ctx.backend, images: first.n, msPerImage: first.ms / first.n, warmupMs: first.ms };
        return { backend: ctx.backend, images: n, msPerImage: n ? ms / n : 0, warmupMs: first?.ms ?? 0 };
      },
    };
  },
};
