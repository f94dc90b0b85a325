import { describe, expect, it } from 'vitest';
import { compareFigures, figureKey, markdownTable, toFigures, type Figure } from './run.js';

const conv = (threads: number, gflops: number) => ({ bench: 'conv3x3', op: 'filterGrad', shape: 'x[1,64,64,128]', backend: 'wasm', threads, kernels: 'ragan', medianMs: 1, gflops });
const iter = (ms: number) => ({ bench: 'trainIteration', preset: 'tiny', backend: 'wasm', threads: 2, shape: '[4,64,64,3]', batch: 4, medianMs: ms, imagesPerSecond: 1 });

describe('bench/run.ts', () => {
  it('normalises package rows with their conditions and direction', () => {
    const f = toFigures('core', [conv(2, 18.7), iter(2000)]);
    expect(f[0]).toEqual({ section: 'core', name: 'conv3x3 filterGrad', params: { backend: 'wasm', threads: 2, shape: 'x[1,64,64,128]', kernels: 'ragan' }, value: 18.7, unit: 'GFLOP/s', better: 'higher' });
    expect(f[1]).toMatchObject({ name: 'training iteration (D+R1, G, Adam, EMA)', value: 2000, unit: 'ms', better: 'lower' });
    expect(figureKey(f[0]!)).not.toBe(figureKey(toFigures('core', [conv(1, 18.7)])[0]!)); // threads are part of the key
    expect(markdownTable(f)).toContain('| core | conv3x3 filterGrad | backend wasm, threads 2, shape x[1,64,64,128], kernels ragan | 18.7 GFLOP/s (higher is better) |');
  });

  it('--compare flags only figures more than the tolerance worse, in the right direction', () => {
    const before: Figure[] = toFigures('core', [conv(2, 20), iter(2000), conv(1, 10)]);
    const after: Figure[] = toFigures('core', [conv(2, 17.9), iter(2150)]); // 10.5 % fewer GFLOP/s; 7.5 % slower
    const c = compareFigures(before, after, 0.1);
    expect(c.length).toBe(2); // the 1-thread figure is not in the new run: not compared
    expect(c.find((x) => x.unit === 'GFLOP/s')).toMatchObject({ before: 20, after: 17.9, worse: true });
    expect(c.find((x) => x.unit === 'ms')).toMatchObject({ before: 2000, after: 2150, worse: false });
    expect(compareFigures(before, toFigures('core', [iter(2300)]), 0.1)[0]!.worse).toBe(true); // 2000/2300 = 0.87
    expect(compareFigures(before, toFigures('core', [iter(1000)]), 0.1)[0]!.worse).toBe(false); // faster is never worse
  });
});
