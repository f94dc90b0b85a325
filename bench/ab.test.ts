import { describe, expect, it } from 'vitest';
import { abRatios } from './ab.js';
import { toFigures } from './run.js';
import { convRow, iterRow } from './test-rows.js';

const figs = (wasm: number, cpu: number, ms: number) =>
  toFigures('core', [convRow(wasm, { threads: 1 }), convRow(cpu, { threads: 1, backend: 'cpu' }), iterRow(ms)]);

describe('bench/ab.ts', () => {
  it('the geometric mean of the per-round ratios, in the right direction; the cpu backend is the drift control, never "worse"', () => {
    const r = abRatios(
      [
        { there: figs(100, 1, 1000), here: figs(150, 1, 900) }, // a fast spell here: 1.5× and 1000/900
        { there: figs(100, 1, 1000), here: figs(60, 0.5, 1250) }, // a slow one: 0.6× and 1000/1250
      ],
      0.1,
    );
    const wasm = r.find((x) => x.key.includes('backend=wasm') && x.unit === 'GFLOP/s')!;
    expect(wasm.ratios).toEqual([1.5, 0.6]);
    expect(wasm.ratio).toBeCloseTo(Math.sqrt(0.9), 10); // 0.949: within 10 %
    expect(wasm.worse).toBe(false);
    const it2 = r.find((x) => x.unit === 'ms')!;
    expect(it2.ratio).toBeCloseTo(Math.sqrt((1000 / 900) * (1000 / 1250)), 10); // 0.943
    const cpu = r.find((x) => x.key.includes('backend=cpu'))!;
    expect(cpu).toMatchObject({ control: true, worse: false, ratios: [1, 0.5] });
    // a figure slower in both rounds is flagged
    const slow = abRatios([{ there: figs(100, 1, 1000), here: figs(85, 1, 1000) }], 0.1);
    expect(slow.find((x) => x.key.includes('backend=wasm') && x.unit === 'GFLOP/s')).toMatchObject({ worse: true });
    // a figure missing from one run is left out
    expect(abRatios([{ there: figs(100, 1, 1000), here: toFigures('core', [iterRow(900)]) }]).map((x) => x.unit)).toEqual(['ms']);
  });
});
