import { afterAll, describe, expect, it } from 'vitest';
import { seededValues as values } from '../../test/helpers.js';
import { singleThreadGemm, type WasmGemm } from '../backend/wasm-gemm.js';
import { createThreadedGemm } from './wasm-gemm-threads.js';

// A shared heap of our own (the test's wasm backend is the one-thread build, whose heap is not shared).
const memory = new WebAssembly.Memory({ initial: 64, maximum: 256, shared: true }); // 4 MiB
const f32 = () => new Float32Array(memory.buffer);
const made: (WasmGemm & { dispose(): void })[] = [];

afterAll(() => {
  for (const g of made) g.dispose();
});

async function threaded(threads: number): Promise<WasmGemm & { dispose(): void }> {
  const g = await createThreadedGemm(memory, threads);
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

  it('raises an error for a product outside the heap, and keeps working after it', async () => {
    const g = await threaded(2);
    const size = memory.buffer.byteLength;
    expect(() => g.mul(size - 64, 1024, 2048, 64, 8, 64)).toThrow();
    const a = values(64 * 8, 1);
    const b = values(8 * 16, 2);
    expect(Array.from(product(g, a, b, 64, 16, 8))).toEqual(Array.from(product(singleThreadGemm(memory)!, a, b, 64, 16, 8)));
  });

  it('refuses calls once stopped', async () => {
    const g = await threaded(2);
    g.dispose();
    const a = values(64 * 8, 3);
    const b = values(8 * 8, 4);
    expect(() => product(g, a, b, 64, 8, 8)).toThrow(/stopped/);
  });
});
