// @ragan/core/node: Node-only helpers (file-system model folders, two-thread wasm, ONNX Runtime convolutions).
import { initBackend, type BackendInfo, type InitBackendOptions } from '../backend/init-backend.js';
import { enableWasmThreads } from './wasm-threads.js';

export { fsStore, type FsStore } from './io-fs.js';
export { enableWasmThreads, type EnableWasmThreadsOptions } from './wasm-threads.js';

/**
 * initBackend for Node: `threads > 1` on wasm runs XNNPACK on that many worker threads (opt-in; falls
 * back to one thread with a message if it cannot start). Pass `importModule: (s) => import(s)` from your
 * app so that optional native backends installed there resolve.
 */
export async function initNodeBackend(opts: InitBackendOptions = {}): Promise<BackendInfo> {
  const threads = opts.threads ?? 1;
  return initBackend({
    ...opts,
    beforeWasmInit: opts.beforeWasmInit ?? (threads > 1 ? () => enableWasmThreads(threads, opts.log ? { log: opts.log } : {}) : undefined),
  });
}
export { loadOnnxRuntime, type OnnxRuntimeProbe } from './onnx-runtime.js';
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
