import { describe, expect, it } from 'vitest';
import { SpikeGuard } from './spike-guard.js';

describe('SpikeGuard', () => {
  it('learns the typical largest gradient per stream, then refuses a step far above it', () => {
    const g = new SpikeGuard({ factor: 20, warmup: 5 });
    for (const x of [0.2, 0.3, 0.25, 0.3, 0.2]) expect(g.admit('d', x)).toBe(true);
    expect(g.typical('d')).toBeCloseTo(Math.exp((Math.log(0.2) * 2 + Math.log(0.3) * 2 + Math.log(0.25)) / 5), 10);
    expect(g.admit('d', 3)).toBe(true); // 12× typical: a rough step, not a blow-up
    expect(g.admit('d', 49)).toBe(false); // ~150×: the second 128² run's step 740
    expect(g.admit('d', 35_000)).toBe(false);
    // R1 steps and G have their own typical values: a large R1 gradient is not judged against plain D steps
    expect(g.admit('dR1', 35_000)).toBe(true);
    expect(Number.isNaN(g.typical('g'))).toBe(true);
  });

  it('acts only after the warmup, never on non-finite values, and not at all with factor 0', () => {
    const g = new SpikeGuard({ factor: 20, warmup: 3 });
    expect(g.admit('g', 1)).toBe(true);
    expect(g.admit('g', 1000)).toBe(true); // still warming up
    expect(g.admit('g', Number.NaN)).toBe(false);
    expect(g.admit('g', Number.POSITIVE_INFINITY)).toBe(false);
    expect(g.getState().g.n).toBe(2);
    const off = new SpikeGuard({ factor: 0, warmup: 1 });
    off.admit('d', 1e-6);
    expect(off.admit('d', 1e6)).toBe(true);
    expect(() => new SpikeGuard({ factor: 1 })).toThrow(/0 \(off\) or above 1/);
  });

  it('its state round-trips (exact resume) and malformed state is refused by name', () => {
    const a = new SpikeGuard({ factor: 20, warmup: 2 });
    for (const x of [1, 2, 3]) a.admit('g', x);
    const b = new SpikeGuard({ factor: 20, warmup: 2 });
    b.setState(JSON.parse(JSON.stringify(a.getState())));
    for (const x of [4, 100, 5]) expect(b.admit('g', x)).toBe(a.admit('g', x));
    expect(b.getState()).toEqual(a.getState());
    expect(() => b.setState({ d: { logMean: 0, n: 1 }, dR1: { logMean: 'x', n: 1 }, g: { logMean: 0, n: 0 } })).toThrow(/"dR1"/);
    expect(() => b.setState(null)).toThrow(/"d"/);
  });
});
