// @ragan/core/node: Node-only helpers (file system model folders, two-thread wasm).
export { fsStore, type FsStore } from './io-fs.js';
