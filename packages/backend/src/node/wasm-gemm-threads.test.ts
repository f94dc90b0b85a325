import { afterAll, describe, expect, it } from 'vitest';
import { seededValues as values } from '@ragan/test-utils/tensors';
import { singleThreadGemm, type WasmGemm } from '../wasm-gemm.js';
import { STOP_WORKERS_FOR_TESTS, WORKERS_IN_USE_FOR_TESTS } from '../test-hooks.js';
import { createThreadedGemm } from './wasm-gemm-threads.js';

// A shared heap of our own (the test's wasm backend is the one-thread build, whose heap is not shared).
const memory = new WebAssembly.Memory({ initial: 64, maximum: 256, shared: true }); // 4 MiB
const f32 = () => new Float32Array(memory.buffer);
const made: (WasmGemm & { dispose(): void })[] = [];

afterAll(() => {
  for (const g of made) g.dispose();
});

/** A threaded product that splits every product with rows for two bands (by default only from 2²¹ multiply-adds). */
async function threaded(threads: number): Promise<WasmGemm & { dispose(): void }> {
  const g = await createThreadedGemm(memory, threads, { minSplitMacs: 0 });
  expect(g, 'threads start here').not.toBeNull();
  made.push(g!);
  return g!;
}

/** c = a · b with `g` at fixed heap offsets; returns c. */
function product(g: WasmGemm, a: Float32Array, b: Float32Array, M: number, N: number, K: number): Float32Array {
  const A = 1024; // byte offsets: a, b, packed b, c one after another
  const B = A + a.length * 4;
  const BP = B + b.length * 4;
  const C = BP + b.length * 4;
  f32().set(a, A / 4);
  f32().set(b, B / 4);
  f32().fill(NaN, C / 4, C / 4 + M * N); // every output must be written
  g.pack(B, BP, K, N);
  g.mul(A, BP, C, M, N, K);
  return f32().slice(C / 4, C / 4 + M * N);
}

describe('our wasm matrix product on worker threads (Node)', () => {
  it('needs a shared heap and two threads or more', async () => {
    expect(await createThreadedGemm(new WebAssembly.Memory({ initial: 1 }), 2)).toBeNull();
    expect(await createThreadedGemm(memory, 1)).toBeNull();
  });

  // Row counts: too few to split, bands of whole blocks, and a remainder for the main thread.
  it.each([
    [2, 5, 16, 8],
    [2, 64, 24, 40],
    [2, 203, 32, 17],
    [3, 130, 16, 64],
    [4, 257, 8, 9],
  ])('on %i threads gives the one-thread result bit for bit, M %i N %i K %i', async (threads, M, N, K) => {
    const single = singleThreadGemm(memory)!;
    const g = await threaded(threads);
    expect(g.threads).toBe(threads);
    const a = values(M * K, M);
    const b = values(K * N, K);
    const expected = product(single, a, b, M, N, K);
    expect(expected.some(Number.isNaN)).toBe(false);
    for (let round = 0; round < 3; round++) {
      // Each round reuses the workers (call numbers go up).
      expect(Array.from(product(g, a, b, M, N, K))).toEqual(Array.from(expected));
    }
  });

  it('reports a worker whose band fails (the band of the main thread is fine), and keeps working after it', async () => {
    const g = await threaded(2);
    // 64 rows in two bands of 32: the worker gets rows 0–31, the main thread rows 32–63. Offsets wrap
    // at 2³², so with a = 2³² − 32·sr rows 0–31 lie just below 2³² (outside the 4 MiB heap) and rows
    // 32… start at byte 0 (inside it): only the worker traps.
    const K = 8;
    const sr = K * 4;
    const wrapped = 2 ** 32 - 32 * sr;
    f32().set(values(K * 8, 5), 8192 / 4);
    g.pack(8192, 12288, K, 8);
    expect(() => g.mul(wrapped, 12288, 16384, 64, 8, K, sr)).toThrow(/a worker thread failed/);
    const a = values(64 * 8, 1);
    const b = values(8 * 16, 2);
    expect(Array.from(product(g, a, b, 64, 16, 8))).toEqual(Array.from(product(singleThreadGemm(memory)!, a, b, 64, 16, 8)));
  });

  it('computes the band of a worker that died on the main thread, and its bands after it', async () => {
    const g = await threaded(2);
    const hooks = g as unknown as Record<symbol, () => number>;
    expect(hooks[WORKERS_IN_USE_FOR_TESTS]!()).toBe(1);
    hooks[STOP_WORKERS_FOR_TESTS]!();
    await new Promise((r) => setTimeout(r, 50)); // the worker exits
    const a = values(64 * 8, 11);
    const b = values(8 * 16, 12);
    const expected = product(singleThreadGemm(memory)!, a, b, 64, 16, 8);
    expect(Array.from(product(g, a, b, 64, 16, 8))).toEqual(Array.from(expected));
    expect(hooks[WORKERS_IN_USE_FOR_TESTS]!(), 'the dead worker lost its band, not the whole product').toBe(0);
    expect(Array.from(product(g, a, b, 64, 16, 8))).toEqual(Array.from(expected));
  });

  it('keeps products under 2²¹ multiply-adds on the main thread by default (waking a worker costs more)', async () => {
    const g = (await createThreadedGemm(memory, 2))!; // the default threshold
    made.push(g);
    const hooks = g as unknown as Record<symbol, () => number>;
    hooks[STOP_WORKERS_FOR_TESTS]!();
    await new Promise((r) => setTimeout(r, 50)); // the worker exits
    const single = singleThreadGemm(memory)!;
    const small = [values(255 * 64, 13), values(64 * 128, 14)] as const; // 255·128·64 = 2,088,960 < 2²¹
    expect(Array.from(product(g, ...small, 255, 128, 64))).toEqual(Array.from(product(single, ...small, 255, 128, 64)));
    expect(hooks[WORKERS_IN_USE_FOR_TESTS]!(), 'not split: the dead worker was not asked').toBe(1);
    const big = [values(256 * 64, 15), values(64 * 128, 16)] as const; // 2²¹: split
    expect(Array.from(product(g, ...big, 256, 128, 64))).toEqual(Array.from(product(single, ...big, 256, 128, 64)));
    expect(hooks[WORKERS_IN_USE_FOR_TESTS]!(), 'split: the dead worker lost its band').toBe(0);
  });

  it('refuses calls once stopped', async () => {
    const g = await threaded(2);
    g.dispose();
    const a = values(64 * 8, 3);
    const b = values(8 * 8, 4);
    expect(() => product(g, a, b, 64, 8, 8)).toThrow(/stopped/);
  });
});
