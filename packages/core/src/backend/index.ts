// Backend selection and training support (browser-safe). Node-only thread support: src/node/wasm-threads.ts.
export {
  BACKEND_PREFERENCE,
  initBackend,
  probeBackends,
  type BackendInfo,
  type BackendName,
  type BackendProbe,
  type InitBackendOptions,
} from './init-backend.js';
export { registerSecondOrderGradients } from './gradients.js';
export {
  registerCpuFallback,
  registerCpuTrainingKernels,
  registerWasmTrainingKernels,
  restoreStockKernels,
  WASM_CPU_FALLBACK_KERNELS,
  type CpuTrainingKernelOptions,
} from './wasm-training.js';
export {
  makeWasmWinogradConv2D,
  prepareWasmWinograd,
  setWasmWinograd,
  wasmWinogradCalls,
  type WasmWinogradOptions,
} from './wasm-winograd.js';
export { setWasmGemm, wasmGemm, type WasmGemm } from './wasm-gemm.js';
export { relaxedSimdSupported } from './wasm-simd-kernels.js';
