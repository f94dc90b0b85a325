/**
 * Opt-in multi-threaded wasm backend in Node (tfjs-backend-wasm 4.22.0 internals).
 *
 * tfjs-backend-wasm hard-wires one thread in Node (WASM_HAS_MULTITHREAD_SUPPORT is false there). Its
 * threaded SIMD build works under worker_threads with three adjustments, applied only while the backend
 * initialises and undone afterwards:
 * 1. Emscripten starts its pthread pool with `new Worker(blob: URL)`: Node cannot load blob URLs, so
 *    `worker_threads.Worker` is patched to run the package's own pthread worker source with
 *    `eval: true`, to tell workers the main script's path instead of a Blob, and to keep the pool
 *    workers unref'd (XNNPACK's idle pthreads must not keep the process alive).
 * 2. The C++ side caps threads at ⌊logical cores / 2⌋ (read once at start-up): `os.cpus()` reports
 *    enough cores for the requested count during initialisation, then is restored.
 * 3. The flag is set so that the threaded build is chosen.
 * If anything fails the backend runs with one thread; nothing throws.
 *
 * Caveats: depends on 4.22.0's emscripten glue (checked: the worker source and the threaded build must
 * be present); Emscripten leaves `globalThis.Worker` set to the (patched) worker class, as it does in
 * every threaded Node build; call it before anything initialises the wasm backend.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { registerThreadedGemmProvider } from './wasm-gemm-threads.js';

export interface EnableWasmThreadsOptions {
  /** Where the one-line fallback messages go. Default `console.error`. */
  log?: (line: string) => void;
  /** Give up waiting for the threaded backend after this long (then one thread). Default 60 000 ms. */
  timeoutMs?: number;
}

type WorkerCtor = new (
  filename: string | URL,
  options?: Record<string, unknown>,
) => {
  ref(): void;
  unref(): void;
  postMessage(value: unknown, transferList?: readonly unknown[]): void;
};

interface EngineInternals {
  registry: Record<string, unknown>;
  initializeBackend?: (name: string) => { success: boolean | Promise<boolean>; asyncInit: boolean };
  pendingBackendInit?: Promise<boolean> | null;
  pendingBackendInitId?: number;
}

// A wasm module using shared memory and an atomic op (tfjs's own feature test).
const THREADS_TEST = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 5, 4, 1, 3, 1, 1, 10, 11, 1, 9, 0, 65, 0, 254, 16, 2, 0, 26, 11,
]);

let failedBefore: string | undefined;

/**
 * Initialises the wasm backend with `threads` XNNPACK threads (it does not make it the active backend).
 * Must run before anything else initialises wasm: pass it as `initBackend({ beforeWasmInit })`. Returns
 * true when the backend runs with `threads` threads; otherwise logs one line and the backend will run
 * with one thread. `threads` ≤ 1 does nothing and returns true.
 */
export async function enableWasmThreads(threads: number, options: EnableWasmThreadsOptions = {}): Promise<boolean> {
  const log = options.log ?? ((line: string) => console.error(line));
  const n = Math.min(8, Math.floor(threads)); // the wasm build pre-creates 8 pthreads
  if (!(n >= 2)) return true;
  // initBackend then runs the Winograd convolutions' products on threads of our own (wasm-gemm-threads.ts).
  registerThreadedGemmProvider();

  let wasm: typeof import('@tensorflow/tfjs-backend-wasm');
  try {
    wasm = await import('@tensorflow/tfjs-backend-wasm');
  } catch (e) {
    log(`ragan: wasm threads unavailable (${messageOf(e)}); using 1 thread`);
    return false;
  }
  const engine = tf.engine() as unknown as EngineInternals;
  if ('wasm' in engine.registry) {
    const actual = wasm.getThreadsCount();
    if (actual >= n) return true;
    log(`ragan: the wasm backend was already initialised with ${actual} thread(s); call enableWasmThreads before initBackend`);
    return false;
  }
  if (failedBefore !== undefined) {
    log(`ragan: wasm threads unavailable (${failedBefore}); using 1 thread`);
    return false;
  }

  let restore: (() => void) | undefined;
  try {
    restore = await patchForThreads(n);
    wasm.setThreadsCount(n);
    const ok = await initialiseWasm(engine, options.timeoutMs ?? 60_000);
    if (!ok) throw new Error('the threaded wasm backend failed to initialise');
  } catch (e) {
    failedBefore = messageOf(e);
    restore?.();
    restore = undefined;
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    wasm.setThreadsCount(1);
    log(`ragan: wasm threads unavailable (${failedBefore}); using 1 thread`);
    return false;
  } finally {
    restore?.();
  }
  const actual = wasm.getThreadsCount();
  if (actual < n) log(`ragan: the wasm backend runs ${actual} thread(s), not ${n}`);
  return actual >= n;
}

/** Applies the patches; returns a function that undoes the ones that may be undone. */
async function patchForThreads(n: number): Promise<() => void> {
  if (typeof SharedArrayBuffer !== 'function') throw new Error('no SharedArrayBuffer');
  if (!WebAssembly.validate(THREADS_TEST)) throw new Error('this Node has no WebAssembly threads');
  if (!(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))) throw new Error('this Node has no WebAssembly SIMD');

  const require = createRequire(import.meta.url);
  // The same module objects the wasm package's CommonJS build reads (`require('os')`, `require('worker_threads')`).
  const os = require('node:os') as { cpus: () => unknown[] };
  const workerThreads = require('node:worker_threads') as { Worker: WorkerCtor };
  const distDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  const outDir = path.join(distDir, '..', 'wasm-out');
  const workerFile = path.join(outDir, 'tfjs-backend-wasm-threaded-simd.worker.js');
  const mainScript = path.join(outDir, 'tfjs-backend-wasm-threaded-simd.js');
  for (const f of [workerFile, mainScript, path.join(distDir, 'tfjs-backend-wasm-threaded-simd.wasm')]) {
    if (!fs.existsSync(f)) throw new Error(`missing ${path.relative(path.join(distDir, '..'), f)} in @tensorflow/tfjs-backend-wasm`);
  }
  const contents = (require(workerFile) as { wasmWorkerContents?: unknown }).wasmWorkerContents;
  if (typeof contents !== 'string') throw new Error('unexpected tfjs-backend-wasm worker source (version other than 4.22?)');
  // As tfjs does for its Blob: the source's "\n" string escapes became real newlines inside a template.
  const workerSource = contents.replace(/\n/g, '\\n');

  const OriginalWorker = workerThreads.Worker;
  class PthreadWorker extends OriginalWorker {
    private readonly pooled: boolean;
    constructor(url: string | URL, opts?: Record<string, unknown>) {
      const isBlob = String(url).startsWith('blob:');
      super(isBlob ? workerSource : url, isBlob ? { ...opts, eval: true } : opts);
      this.pooled = isBlob;
      if (isBlob) this.unref();
    }
    // Emscripten ref()s a worker while its pthread runs; XNNPACK's pool threads run (idle) forever, so
    // that would keep the process alive. The main thread blocks on them during every op, so no work is
    // pending in them when its event loop empties.
    override ref(): void {
      if (!this.pooled) super.ref();
    }
    override postMessage(msg: unknown, transfer?: readonly unknown[]): void {
      const m = msg as { cmd?: unknown; urlOrBlob?: unknown } | null;
      if (m && m.cmd === 'load' && typeof m.urlOrBlob !== 'string') msg = { ...m, urlOrBlob: mainScript };
      super.postMessage(msg, transfer);
    }
  }
  const originalCpus = os.cpus;
  workerThreads.Worker = PthreadWorker;
  os.cpus = () => {
    const real = originalCpus.call(os);
    const out = [...real];
    while (out.length < 2 * n) out.push(real[0]);
    return out;
  };
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  return () => {
    // Emscripten read both at start-up; later pool growth uses its own reference to the worker class.
    workerThreads.Worker = OriginalWorker;
    os.cpus = originalCpus;
  };
}

/** Initialises (without activating) the wasm backend; false on failure or timeout. */
async function initialiseWasm(engine: EngineInternals, timeoutMs: number): Promise<boolean> {
  if (typeof engine.initializeBackend !== 'function') throw new Error('unexpected @tensorflow/tfjs-core engine');
  const { success } = engine.initializeBackend('wasm');
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const result = await Promise.race([Promise.resolve(success), timeout]);
    if (result === 'timeout') {
      // Orphan the pending initialisation so the next setBackend('wasm') starts a fresh (1-thread) one.
      engine.pendingBackendInitId = (engine.pendingBackendInitId ?? 0) + 1;
      engine.pendingBackendInit = null;
      throw new Error(`the threaded wasm backend did not start within ${timeoutMs} ms`);
    }
    return result && 'wasm' in engine.registry;
  } finally {
    clearTimeout(timer);
  }
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
