/**
 * The project's one seeded random number generator (no hidden global RNG anywhere: style guide). Its
 * state fits in JSON, so a trainer can checkpoint it and resume exactly.
 *
 * Two engines behind one class, each kept for what already depends on its exact sequence:
 * - **mulberry32** (one uint32 of state): `new Rng(seed)`. Weight initialisation (a seed gives the same
 *   weights as before), the GAN trainer's target and shift draws (checkpoints store this state as a
 *   number), the classifier trainer, and evaluation subsets (`Rng.mulberry32State`: a seed picks the same
 *   test faces as before, so results stay comparable).
 * - **sfc32** (Chris Doty-Humphrey's small fast counting generator, 4 × uint32, passes PractRand):
 *   `Rng.fromSeed(seed)` or `new Rng(state)`. The data sampler's epoch order (its cursors store this
 *   state as four numbers).
 *
 * `getState()` returns the engine's state as it is stored (a number or four numbers); `new Rng(state)`
 * and `setState(state)` take either back.
 */

/** sfc32's state: four uint32. */
export type Sfc32State = [number, number, number, number];
/** An Rng's saved state: one uint32 (mulberry32) or four (sfc32). */
export type RngState = number | Sfc32State;

const U32 = 4294967296;

/** A 32-bit integer hash (the murmur3 finaliser): stateless per-position randomness such as flips. */
export function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

const isU32 = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0xffffffff;

/** True when `v` is a saved sfc32 state (four uint32), e.g. read back from JSON. */
export function isSfc32State(v: unknown): v is Sfc32State {
  return Array.isArray(v) && v.length === 4 && v.every(isU32);
}

/** True when `v` is a saved state of either engine. */
export function isRngState(v: unknown): v is RngState {
  return isU32(v) || isSfc32State(v);
}

export class Rng {
  /** mulberry32's state, when that is the engine. */
  private m = 0;
  /** sfc32's state, when that is the engine. */
  private s: Sfc32State | undefined;

  /**
   * A number: mulberry32 seeded with it (0 stands for 0x9e3779b9). Four numbers: sfc32 resumed from
   * that state.
   */
  constructor(seedOrState: number | Sfc32State) {
    if (Array.isArray(seedOrState)) this.setState(seedOrState);
    else this.m = seedOrState >>> 0 || 0x9e3779b9;
  }

  /** An sfc32 generator seeded from one integer (splitmix32 spreads it over the state, then 12 warm-up draws). */
  static fromSeed(seed: number): Rng {
    let x = seed >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      return mix32(x);
    };
    const rng = new Rng([next(), next(), next(), next()]);
    for (let i = 0; i < 12; i++) rng.nextU32();
    return rng;
  }

  /** A mulberry32 generator at exactly `state` (no seed mapping: 0 stays 0). */
  static mulberry32State(state: number): Rng {
    const rng = new Rng(1);
    rng.setState(state);
    return rng;
  }

  /** Which engine draws the numbers. */
  get engine(): 'mulberry32' | 'sfc32' {
    return this.s ? 'sfc32' : 'mulberry32';
  }

  /** Next uint32. */
  nextU32(): number {
    const s = this.s;
    if (s) {
      const t = (((s[0] + s[1]) >>> 0) + s[3]) >>> 0;
      s[3] = (s[3] + 1) >>> 0;
      s[0] = (s[1] ^ (s[1] >>> 9)) >>> 0;
      s[1] = (s[2] + (s[2] << 3)) >>> 0;
      s[2] = ((s[2] << 21) | (s[2] >>> 11)) >>> 0;
      s[2] = (s[2] + t) >>> 0;
      return t;
    }
    this.m = (this.m + 0x6d2b79f5) >>> 0;
    let t = this.m;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / U32;
  }

  /** A fresh integer seed for a tfjs random op. */
  nextSeed(): number {
    return this.nextU32() % 2147483647;
  }

  /** Uniform integer in [0, n), without modulo bias. */
  int(n: number): number {
    if (!(Number.isInteger(n) && n > 0 && n <= U32)) throw new RangeError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    const limit = U32 - (U32 % n);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % n;
    }
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = xs[i]!;
      xs[i] = xs[j]!;
      xs[j] = t;
    }
    return xs;
  }

  /** The state to save: one number (mulberry32) or a copy of four (sfc32). */
  getState(): RngState {
    return this.s ? [...this.s] : this.m;
  }

  /** Continues from a saved state; its form (one number or four) chooses the engine. RangeError on anything else. */
  setState(state: RngState): void {
    if (isSfc32State(state)) this.s = [state[0], state[1], state[2], state[3]];
    else if (isU32(state)) {
      this.s = undefined;
      this.m = state;
    } else throw new RangeError(`Rng.setState: expected a uint32 or four uint32s, got ${JSON.stringify(state)}`);
  }
}
