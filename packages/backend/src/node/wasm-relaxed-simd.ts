/**
 * WebAssembly relaxed SIMD in Node 20, whose V8 (11.3) has it behind `--experimental-wasm-relaxed-simd`
 * (on by default from V8 11.4: Chrome 114, Node 22). Our matrix product uses its fused multiply-add when
 * the runtime has it (wasm-gemm-simd.ts): 1.4–2.5× faster per thread here.
 */
import * as v8 from 'node:v8';
import { relaxedSimdSupported } from '../wasm-gemm-simd.js';

/**
 * Makes WebAssembly relaxed SIMD available in this process if it is not: sets V8's
 * `--experimental-wasm-relaxed-simd` flag (Node 20). It applies to modules compiled afterwards, so call
 * it before `initBackend` (`initNodeBackend` does, unless `relaxedSimd: false`). Returns whether relaxed
 * SIMD is available now. The flag only lets modules use the relaxed instructions; others are unchanged.
 */
export function enableWasmRelaxedSimd(): boolean {
  if (relaxedSimdSupported()) return true;
  try {
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    return false;
  }
  return relaxedSimdSupported();
}
