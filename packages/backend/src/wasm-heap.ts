/** The tfjs wasm backend's heap, as our own WebAssembly loops address it. */
import type * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** The wasm memory behind the backend's heap (threaded builds keep it on the module, others export it). */
export function heapMemory(backend: BackendWasm): WebAssembly.Memory | null {
  const m = backend.wasm as unknown as { wasmMemory?: unknown; asm?: { memory?: unknown } } | undefined;
  const mem = m?.wasmMemory ?? m?.asm?.memory;
  return mem instanceof WebAssembly.Memory ? mem : null;
}

/**
 * Byte offset of a tensor's data in the wasm heap. Offset 0 with data means a failed allocation (the
 * heap is full): that throws, naming `what`, instead of letting a loop write at address 0.
 */
export function heapOffset(backend: BackendWasm, t: tf.TensorInfo, what: string): number {
  const view = backend.typedArrayFromHeap(t);
  if (view.byteOffset === 0 && view.length > 0) throw new Error(`${what}: the wasm heap is full (4 GiB at most)`);
  return view.byteOffset;
}
