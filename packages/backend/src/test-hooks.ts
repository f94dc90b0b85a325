/**
 * Test-only hooks into the kernels' internals (block sizes, raw module bytes, worker threads). Not an
 * entry of the package (package.json `exports` does not list it, tsup does not build it): only this
 * package's own tests import it, by a relative path.
 */
export { setFilterGradBlockForTests } from './wasm-training/conv-filter-grad.js';
export { setWinogradChunkForTests } from './wasm-winograd.js';
export { elementwiseSimdBytesForTests } from './wasm-elementwise-simd.js';
export { winogradGradSimdBytesForTests, winogradSimdBytesForTests } from './wasm-winograd-simd.js';
export { STOP_WORKERS_FOR_TESTS, WORKERS_IN_USE_FOR_TESTS } from './node/wasm-gemm-threads.js';
