// @ragan/backend/node: Node-only parts (two-thread wasm, relaxed SIMD in Node 20, ONNX Runtime convolutions).
import { initBackend, type BackendInfo, type InitBackendOptions } from '../init-backend.js';
import { enableWasmThreads } from './wasm-threads.js';
import { enableWasmRelaxedSimd } from './wasm-relaxed-simd.js';

export { enableWasmThreads, type EnableWasmThreadsOptions } from './wasm-threads.js';
export { enableWasmRelaxedSimd } from './wasm-relaxed-simd.js';

export interface InitNodeBackendOptions extends InitBackendOptions {
  /**
   * Node 20: turn on WebAssembly relaxed SIMD (`enableWasmRelaxedSimd`, a V8 flag) so that wasm's matrix
   * products fuse their multiply-adds (1.4–2.5× faster per thread here). Node 22+ has it anyway. Default
   * true; false leaves V8's flags alone.
   */
  relaxedSimd?: boolean;
}

/**
 * initBackend for Node: `threads > 1` on wasm runs XNNPACK on that many worker threads (opt-in; falls
 * back to one thread with a message if it cannot start). Pass `importModule: (s) => import(s)` from your
 * app so that optional native backends installed there resolve.
 */
export async function initNodeBackend(opts: InitNodeBackendOptions = {}): Promise<BackendInfo> {
  const threads = opts.threads ?? 1;
  if (opts.relaxedSimd ?? true) enableWasmRelaxedSimd();
  return initBackend({
    ...opts,
    beforeWasmInit: opts.beforeWasmInit ?? (threads > 1 ? () => enableWasmThreads(threads, opts.log ? { log: opts.log } : {}) : undefined),
  });
}
export { disableOnnxRuntimeTelemetry, loadOnnxRuntime, type OnnxRuntimeProbe } from './onnx-runtime.js';
export {
  enableOnnxConvKernels,
  disableOnnxConvKernels,
  loadOnnxRuntimeBinding,
  onnxConvKernelsEnabled,
  onnxConvStats,
  type OnnxBindingProbe,
  type OnnxConvKernelOptions,
  type OnnxConvStats,
  type OnnxNativeBinding,
} from './onnx-conv-kernels.js';
