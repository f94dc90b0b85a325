import { describe, expect, it } from 'vitest';
import { isRngState, Rng } from './rng.js';

describe('Rng (sfc32)', () => {
  it('is deterministic per seed, and different seeds differ', () => {
    const a = Rng.fromSeed(1);
    const b = Rng.fromSeed(1);
    const c = Rng.fromSeed(2);
    const xs = Array.from({ length: 8 }, () => a.nextU32());
    expect(Array.from({ length: 8 }, () => b.nextU32())).toEqual(xs);
    expect(Array.from({ length: 8 }, () => c.nextU32())).not.toEqual(xs);
  });

  it('resumes exactly from a JSON round trip of its state', () => {
    const a = Rng.fromSeed(42);
    for (let i = 0; i < 1000; i++) {
      a.next();
      expect(isRngState(a.state())).toBe(true); // uint32s, never negative
    }
    const state = JSON.parse(JSON.stringify(a.state()));
    expect(isRngState(state)).toBe(true);
    const b = new Rng(state);
    expect(Array.from({ length: 20 }, () => b.next())).toEqual(Array.from({ length: 20 }, () => a.next()));
  });

  it('int(n) stays in range and is roughly uniform; shuffle is a permutation', () => {
    const r = Rng.fromSeed(5);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 6000; i++) counts[r.int(6)]++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(150);
    const xs = r.shuffle(Array.from({ length: 50 }, (_, i) => i));
    expect([...xs].sort((p, q) => p - q)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(xs).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});
