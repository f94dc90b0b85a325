/**
 * Gradient-spike guard [ours]: a GAN step whose largest absolute gradient is far above its recent typical
 * value is usually the first step of a blow-up (the second 128² run: D's largest gradient went 0.3 → 3 → 49
 * → 35,000 over steps 720-750, and the run never recovered). With Adam at β1 = 0 such a step moves every
 * weight it touches by about 10 × lr, so the guard refuses it before it is applied.
 *
 * The typical value is a running geometric mean of accepted steps (a plain mean over the first
 * `window` observations, then an exponential one with weight 1/window), kept separately per stream
 * (D without R1, D with R1, G): lazy R1 steps have larger D gradients by design.
 */

export type SpikeStream = 'd' | 'dR1' | 'g';

/** What a checkpoint stores so that a resumed run guards exactly like an uninterrupted one. */
export type SpikeGuardState = Record<SpikeStream, { logMean: number; n: number }>;

export interface SpikeGuardOptions {
  /** Refuse a step whose largest gradient exceeds this many times the typical one. 0: off. */
  factor: number;
  /** Accepted observations per stream before the guard acts (default 20). */
  warmup?: number;
  /** Averaging window of the typical value (default 50). */
  window?: number;
}

const STREAMS: readonly SpikeStream[] = ['d', 'dR1', 'g'];

export class SpikeGuard {
  readonly factor: number;
  readonly warmup: number;
  readonly window: number;
  private stats: SpikeGuardState = { d: { logMean: 0, n: 0 }, dR1: { logMean: 0, n: 0 }, g: { logMean: 0, n: 0 } };

  constructor(opts: SpikeGuardOptions) {
    if (!(opts.factor === 0 || opts.factor > 1)) throw new RangeError(`spike factor must be 0 (off) or above 1, got ${opts.factor}`);
    this.factor = opts.factor;
    this.warmup = opts.warmup ?? 20;
    this.window = opts.window ?? 50;
  }

  /** The typical largest gradient of a stream (NaN before its first accepted step). */
  typical(stream: SpikeStream): number {
    const s = this.stats[stream];
    return s.n ? Math.exp(s.logMean) : NaN;
  }

  /**
   * Whether a step with this largest gradient may be applied; an accepted value updates the typical one.
   * Non-finite values are refused without touching the statistics (the trainer discards those anyway).
   */
  admit(stream: SpikeStream, gradMax: number): boolean {
    if (!Number.isFinite(gradMax)) return false;
    const s = this.stats[stream];
    const x = Math.log(Math.max(gradMax, 1e-30));
    if (this.factor > 0 && s.n >= this.warmup && x > s.logMean + Math.log(this.factor)) return false;
    const a = 1 / Math.min(s.n + 1, this.window);
    s.logMean = s.n ? s.logMean + a * (x - s.logMean) : x;
    s.n += 1;
    return true;
  }

  getState(): SpikeGuardState {
    return JSON.parse(JSON.stringify(this.stats)) as SpikeGuardState;
  }

  /** Restores `getState()`'s value; anything malformed is refused by name. */
  setState(state: unknown): void {
    const s = state as Partial<SpikeGuardState> | null;
    const next = {} as SpikeGuardState;
    for (const k of STREAMS) {
      const v = s?.[k];
      if (!v || !Number.isFinite(v.logMean) || !Number.isInteger(v.n) || v.n < 0)
        throw new RangeError(`spike guard state: "${k}" must be { logMean: finite, n: integer ≥ 0 }`);
      next[k] = { logMean: v.logMean, n: v.n };
    }
    this.stats = next;
  }
}
