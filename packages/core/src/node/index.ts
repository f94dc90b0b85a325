// @ragan/core/node: Node-only helpers (file-system model folders, atomic writes) and initNodeBackend
// from @ragan/backend/node (the kernel switches are there too).
export { fsStore, type FsStore } from './io-fs.js';
export { writeFileAtomic, syncDir } from './atomic-write.js';
export { initNodeBackend, type InitNodeBackendOptions } from '@ragan/backend/node';
