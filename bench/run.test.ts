import { describe, expect, it } from 'vitest';
import { pairedSummary } from './paired.js';
import { compareFigures, figureKey, markdownTable, ratioFigures, toFigures, type Figure } from './run.js';
import { convRow, iterRow } from './test-rows.js';

const conv = (threads: number, gflops: number) => convRow(gflops, { threads });
const iter = iterRow;

describe('bench/run.ts', () => {
  it('normalises package rows with their conditions and direction', () => {
    const f = toFigures('core', [conv(2, 18.7), iter(2000)]);
    expect(f[0]).toEqual({
      section: 'core',
      name: 'conv3x3 filterGrad',
      params: { backend: 'wasm', threads: 2, shape: 'x[1,64,64,128]', kernels: 'ragan' },
      value: 18.7,
      unit: 'GFLOP/s',
      better: 'higher',
    });
    expect(f[1]).toMatchObject({ name: 'training iteration (D+R1, G, Adam, EMA)', value: 2000, unit: 'ms', better: 'lower' });
    expect(figureKey(f[0]!)).not.toBe(figureKey(toFigures('core', [conv(1, 18.7)])[0]!)); // threads are part of the key
    expect(markdownTable(f)).toContain(
      '| core | conv3x3 filterGrad | backend wasm, threads 2, shape x[1,64,64,128], kernels ragan | 18.7 GFLOP/s (higher is better) |',
    );
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

  it('pairs PyTorch twin figures with tfjs and ONNX Runtime ones of the same shape and threads: × PyTorch time', () => {
    const torch = toFigures('pytorch', [
      { bench: 'conv3x3', op: 'filterGrad', shape: 'x[1,128,64,64] w[128,128,3,3] pad 1', threads: 2, gflops: 100, medianMs: 12 },
      { bench: 'generatorForward', preset: 'paper', shape: '[1,3,256,256]', batch: 1, threads: 2, medianMs: 800 },
      {
        bench: 'trainIteration',
        preset: 'small',
        shape: '[2,3,128,128]',
        batch: 2,
        threads: 2,
        medianMs: 1500,
        phasesMedianMs: { dStep: 500, gStepFwdBwd: 990, gAdamEma: 10 },
      },
    ]);
    expect(torch.map((f) => f.params.shape)).toEqual([
      'x[1,64,64,128] w[3,3,128,128] same',
      '[1,256,256,3]',
      '[2,128,128,3]',
      '[2,128,128,3]',
      '[2,128,128,3]',
    ]);
    const tfjs = toFigures('core', [
      { bench: 'conv3x3', op: 'filterGrad', shape: 'x[1,64,64,128] w[3,3,128,128] same', backend: 'wasm', threads: 2, kernels: 'ragan', gflops: 20 },
      { bench: 'conv3x3', op: 'filterGrad', shape: 'x[1,64,64,128] w[3,3,128,128] same', backend: 'wasm', threads: 1, kernels: 'ragan', gflops: 12 },
      { bench: 'generatorForward', preset: 'paper', backend: 'onnxruntime-node', threads: 2, shape: '[1,256,256,3]', medianMsPerImage: 700 },
      { bench: 'generatorForward', preset: 'paper', backend: 'wasm', threads: 2, shape: '[1,256,256,3]', medianMsPerImage: 4000 },
      {
        bench: 'trainIteration',
        preset: 'small',
        backend: 'wasm',
        threads: 2,
        shape: '[2,128,128,3]',
        medianMs: 15000,
        phasesMedianMs: { dStep: 4000, gStepFwdBwd: 10890 },
      },
      { bench: 'trainIteration', preset: 'small', backend: 'wasm', threads: 2, shape: '[4,128,128,3]', error: 'memory access out of bounds' },
    ]);
    const r = ratioFigures([...torch, ...tfjs]);
    const by = (name: string, backend: string) => r.find((f) => f.name === name && f.params.backend === backend)?.value;
    expect(r.length).toBe(6); // 1-thread conv has no 1-thread PyTorch figure; the failed iteration has no value
    expect(by('conv3x3 filterGrad ÷ PyTorch', 'wasm')).toBe(5); // 100 / 20 GFLOP/s: five times PyTorch's time
    expect(by('generator forward ÷ PyTorch', 'onnxruntime-node')).toBe(0.88);
    expect(by('generator forward ÷ PyTorch', 'wasm')).toBe(5);
    expect(by('training iteration (D+R1, G, Adam, EMA) ÷ PyTorch', 'wasm')).toBe(10);
    // the phases both sides time pair up too: where the gap is
    expect(by('training iteration: D step (fakes, D+R1, Adam) ÷ PyTorch', 'wasm')).toBe(8);
    expect(by('training iteration: G step forward+backward ÷ PyTorch', 'wasm')).toBe(11);
    expect(r.every((f) => f.better === 'lower' && f.unit === '× PyTorch time' && f.section === 'vs PyTorch')).toBe(true);
  });

  it('reads the eval and web-demo rows', () => {
    const e = toFigures('eval', [
      {
        bench: 'eval',
        runtime: 'onnx',
        backend: 'onnxruntime-node 1.30.0 (wasm)',
        resolution: 64,
        faces: 24,
        pairs: 200,
        pairsPerSecond: 9.2,
        generatorMsPerImage: 3.9,
      },
    ]);
    expect(e.map((f) => [f.name, f.value, f.unit, f.better])).toEqual([
      ['ragan eval', 9.2, 'images/s', 'higher'],
      ['ragan eval generator', 3.9, 'ms/image', 'lower'],
    ]);
    const w = toFigures('web', [{ bench: 'webDemo', what: 'generator per face (slider re-render)', backend: 'wasm', faces: 1, medianMs: 40 }]);
    expect(w[0]).toMatchObject({
      name: 'web demo generator per face (slider re-render)',
      params: { backend: 'wasm', faces: 1 },
      value: 40,
      unit: 'ms',
      better: 'lower',
    });
  });

  it('reads paired rows (tfjs and PyTorch taking turns) as the median per-pair ratio; failed items are left out', () => {
    const f = toFigures('paired', [
      {
        bench: 'paired',
        what: 'generator forward',
        preset: 'paper',
        backend: 'onnxruntime-node',
        threads: 2,
        shape: '[1,256,256,3]',
        pairs: 7,
        tfjsMedianMs: 900,
        pytorchMedianMs: 1000,
        ratioMedian: 0.93,
        ratios: [0.93],
      },
      {
        bench: 'paired',
        what: 'training iteration (D+R1, G, Adam, EMA)',
        preset: 'small',
        backend: 'wasm',
        threads: 2,
        shape: '[4,128,128,3]',
        pairs: 3,
        error: 'memory access out of bounds',
      },
    ]);
    expect(f).toEqual([
      {
        section: 'paired',
        name: 'generator forward ÷ PyTorch, turn by turn',
        params: { backend: 'onnxruntime-node', threads: 2, preset: 'paper', shape: '[1,256,256,3]', pairs: 7 },
        value: 0.93,
        unit: '× PyTorch time',
        better: 'lower',
      },
    ]);
  });

  it('pairedSummary takes the median of per-pair ratios, which a drifting machine leaves alone', () => {
    // the machine halves its speed for the last two pairs: both sides slow down together
    const s = pairedSummary([100, 100, 200, 200, 100], [20, 20, 40, 40, 20]);
    expect(s.ratioMedian).toBe(5);
    expect(s.ratios).toEqual([5, 5, 5, 5, 5]);
    expect(s.tfjsMedianMs).toBe(100);
    expect(s.pytorchMedianMs).toBe(20);
    expect(() => pairedSummary([1, 2], [1])).toThrow(/as many/);
  });
});
