/**
 * Our own float32 matrix product on the wasm heap (the `gemm` loop of wasm-gemm-simd.ts), used
 * instead of XNNPACK's for the Winograd convolution's products (wasm-winograd.ts) and for the filter
 * gradient of stride-1 convolutions in training (wasm-training.ts).
 *
 * Why: on one thread it runs 1.23–1.41× XNNPACK's speed here (tfjs-backend-wasm 4.22, measured
 * interleaved in one process), but it runs on the calling thread only. So:
 * - with one wasm thread (browsers without cross-origin isolation, Node by default) `initBackend`
 *   installs the one-thread product;
 * - with more, XNNPACK's threaded product stays, unless a provider spreads ours over threads of its own
 *   (in Node: `enableWasmThreads` from `@ragan/backend/node` registers one, see wasm-gemm-threads.ts).
 */
import { gemmSimd } from './wasm-gemm-simd.js';

/** A matrix product over the wasm heap (byte offsets; float32, row-major). */
export interface WasmGemm {
  /** b [K, N] into panels bp (as many floats), which `mul` reads; N a multiple of 8. */
  pack(b: number, bp: number, K: number, N: number): void;
  /**
   * c [M, N] = a [M, K] · b [K, N], b packed; N a multiple of 8. Row r of a at a + r·sr (bytes;
   * default 4K, row-major). Throws if a thread fails.
   */
  mul(a: number, bp: number, c: number, M: number, N: number, K: number, sr?: number): void;
  /**
   * dst [cols, rows] = src [rows, cols]ᵀ, rows and cols multiples of 4 (on the calling thread). Row r of
   * src at src + r·srcRow (bytes; default 4·cols), row c of dst at dst + 4c·dstRowF (default rows).
   */
  transpose(src: number, dst: number, rows: number, cols: number, srcRow?: number, dstRowF?: number): void;
  /** Threads it runs on. */
  readonly threads: number;
  /** Whether its multiply-adds are fused (relaxed SIMD; `relaxedSimdSupported`). */
  readonly fma: boolean;
  /** The wasm heap its loops are compiled for: use it only on that heap's backend. */
  readonly memory: WebAssembly.Memory;
}

/** The product for the wasm heap `memory`, or null (none set, or one made for another heap). */
export function wasmGemmFor(memory: WebAssembly.Memory | null): WasmGemm | null {
  return active !== null && memory !== null && active.memory === memory ? active : null;
}

/** The one-thread product for `memory`, or null when it cannot compile here. */
export function singleThreadGemm(memory: WebAssembly.Memory): WasmGemm | null {
  const simd = gemmSimd(memory);
  if (!simd) return null;
  return {
    pack: (b, bp, K, N) => simd.pack(b, bp, K, N),
    transpose: (src, dst, rows, cols, srcRow = 4 * cols, dstRowF = rows) => simd.transpose(src, dst, rows, cols, srcRow, dstRowF),
    mul: (a, bp, c, M, N, K, sr = 4 * K) => simd.gemm(a, bp, c, M, N, K, sr),
    threads: 1,
    fma: simd.fma,
    memory,
  };
}

/** Builds a product on the wasm heap `memory` for `threads` threads, or null (then XNNPACK's). */
export type WasmGemmProvider = (memory: WebAssembly.Memory, threads: number) => Promise<(WasmGemm & { dispose?(): void }) | null>;

let active: WasmGemm | null = null;
let provider: WasmGemmProvider | null = null;

/** The product the Winograd convolution uses, or null for XNNPACK's. */
export function wasmGemm(): WasmGemm | null {
  return active;
}

/** Sets the product (null: XNNPACK's); returns the previous one. */
export function setWasmGemm(gemm: WasmGemm | null): WasmGemm | null {
  const previous = active;
  active = gemm;
  return previous;
}

/** Registers the multi-thread provider `initBackend` asks when wasm runs with more than one thread. */
export function setWasmGemmProvider(p: WasmGemmProvider | null): void {
  provider = p;
}

export function wasmGemmProvider(): WasmGemmProvider | null {
  return provider;
}

let installed: { memory: WebAssembly.Memory; threads: number; gemm: WasmGemm & { dispose?(): void } } | null = null;

/**
 * Picks the product for a wasm backend with `threads` XNNPACK threads (`initBackend` calls it): ours on
 * one thread; with more, the registered provider's, else none (XNNPACK's). `enabled` false: none.
 * Kept across calls for the same heap and thread count.
 */
export async function installWasmGemm(memory: WebAssembly.Memory | null, threads: number, enabled: boolean): Promise<WasmGemm | null> {
  if (!enabled || !memory) {
    setWasmGemm(null);
    return null;
  }
  if (installed && installed.memory === memory && installed.threads === threads) {
    setWasmGemm(installed.gemm);
    return installed.gemm;
  }
  setWasmGemm(null); // not the old one while it stops
  installed?.gemm.dispose?.();
  installed = null;
  let gemm: (WasmGemm & { dispose?(): void }) | null = null;
  if (threads <= 1) gemm = singleThreadGemm(memory);
  else if (provider) gemm = await provider(memory, threads).catch(() => null);
  if (gemm) installed = { memory, threads, gemm };
  setWasmGemm(gemm);
  return gemm;
}
