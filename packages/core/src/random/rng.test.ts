import { describe, expect, it } from 'vitest';
import { isRngState, isSfc32State, Rng } from './rng.js';

describe('Rng', () => {
  it('keeps the sequences seeds gave before the RNGs were one class (initial weights, trainer draws, eval subsets, data order)', () => {
    // values drawn with the four former implementations (core's mulberry32, eval's createRng, data's sfc32)
    const m1 = new Rng(1);
    expect([m1.nextU32(), m1.nextU32(), m1.nextU32()]).toEqual([2693262067, 11749833, 2265367787]);
    const m0 = new Rng(0);
    expect([m0.nextU32(), m0.nextU32()]).toEqual([1541420728, 454851044]);
    // eval's subsets for seed 0: mulberry32 started at 0 ^ 0x9e3779b9
    const e = Rng.mulberry32State((0 ^ 0x9e3779b9) >>> 0);
    expect([e.next(), e.next(), e.next()]).toEqual([0.3588899802416563, 0.10590326134115458, 0.675290479324758]);
    const s = Rng.fromSeed(1);
    expect([s.nextU32(), s.nextU32(), s.nextU32()]).toEqual([1828152527, 3394835397, 2967886022]);
    expect([m1.engine, s.engine]).toEqual(['mulberry32', 'sfc32']);
  });

  it('is deterministic per seed, and different seeds differ (both engines)', () => {
    for (const make of [(n: number) => new Rng(n), (n: number) => Rng.fromSeed(n)]) {
      const a = make(1);
      const b = make(1);
      const c = make(2);
      const xs = Array.from({ length: 8 }, () => a.nextU32());
      expect(Array.from({ length: 8 }, () => b.nextU32())).toEqual(xs);
      expect(Array.from({ length: 8 }, () => c.nextU32())).not.toEqual(xs);
    }
  });

  it('resumes exactly from a JSON round trip of its state, in the engine the state names', () => {
    for (const a of [Rng.fromSeed(42), new Rng(42)]) {
      for (let i = 0; i < 1000; i++) {
        a.next();
        expect(isRngState(a.getState())).toBe(true); // uint32s, never negative
      }
      const state = JSON.parse(JSON.stringify(a.getState())) as unknown;
      expect(isRngState(state)).toBe(true);
      const b = Array.isArray(state) ? new Rng(state as [number, number, number, number]) : Rng.mulberry32State(state as number);
      expect(b.engine).toBe(a.engine);
      expect(Array.from({ length: 20 }, () => b.next())).toEqual(Array.from({ length: 20 }, () => a.next()));
      // setState switches engine with the state's form
      const c = new Rng(7);
      c.setState(a.getState());
      expect(c.nextU32()).toBe(a.nextU32());
    }
    expect(isSfc32State(Rng.fromSeed(1).getState())).toBe(true);
    expect(() => new Rng(1).setState(-1)).toThrow(/uint32/);
    expect(() => new Rng(1).setState([1, 2, 3] as never)).toThrow(/four uint32s/);
  });

  it('int(n) stays in range and is roughly uniform; shuffle is a permutation', () => {
    const r = Rng.fromSeed(5);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 6000; i++) counts[r.int(6)]++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(150);
    const xs = r.shuffle(Array.from({ length: 50 }, (_, i) => i));
    expect([...xs].sort((p, q) => p - q)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(xs).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(() => r.int(0)).toThrow(RangeError);
  });
});
