// @ragan/backend: browser-safe entry (no Node built-ins). Node-only parts (threads, relaxed SIMD in
// Node 20, ONNX Runtime convolutions, initNodeBackend) live in '@ragan/backend/node'.
export {
  BACKEND_PREFERENCE,
  initBackend,
  probeBackends,
  type BackendInfo,
  type BackendName,
  type BackendProbe,
  type InitBackendOptions,
} from './init-backend.js';
export { BackendError, BackendUnavailableError, ConfigError, MarkedError, type BackendErrorCode, type BackendErrorOptions } from './errors.js';
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
export { relaxedSimdSupported } from './wasm-gemm-simd.js';
export {
  encodeOnnxModel,
  OnnxDataType,
  type AttrValue,
  type OnnxInitializer,
  type OnnxModel,
  type OnnxNode,
  type OnnxValueInfo,
} from './onnx/proto.js';
export type { OrtModuleLike, OrtSessionLike, OrtTensorLike } from './onnx/ort-types.js';
