/**
 * Our wasm matrix product (backend/wasm-gemm.ts) on several threads in Node: worker threads that
 * instantiate the product's module on the wasm backend's own shared heap, each taking a band of rows.
 *
 * Why: the product is 1.23–1.41× XNNPACK's speed per thread here, but runs on the calling thread only,
 * so with 2 wasm threads XNNPACK's threaded product would win. With a helper thread per extra wasm
 * thread, ours wins again (measured in the Winograd convolutions: see docs/backends.md).
 *
 * How: one `SharedArrayBuffer` of control words per worker. The main thread writes the call's
 * arguments, bumps the sequence number and wakes the worker (`Atomics.notify`), computes its own band,
 * then sleeps until the worker has published the same number as done (`Atomics.wait`, allowed on
 * Node's main thread). Idle workers sleep in `Atomics.wait`: no spinning. Workers are unref'd (they
 * never keep the process alive). The worker source below is this module's own constant code, run with
 * `eval: true` as the threaded wasm backend's own workers are (wasm-threads.ts); it reads nothing else.
 *
 * Only with the threaded wasm build (a shared heap): `enableWasmThreads` registers the provider, and
 * `initBackend` installs the product when wasm runs with more than one thread.
 */
import { Worker } from 'node:worker_threads';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { gemmRows, gemmSimd, setWasmGemmProvider, type WasmGemm } from '../backend/wasm-gemm.js';
import { GEMM_ROWS, gemmModuleBytes } from '../backend/wasm-simd-kernels.js';

// Control words (Int32Array over a SharedArrayBuffer; offsets are stored as unsigned 32-bit).
const SEQ = 0; // main → worker: call number; −1 = stop
const DONE = 1; // worker → main: the call number finished
const STATUS = 2; // worker → main: 0 ok, 1 failed
const ARGS = 3; // a, bp, c, M, N, K, sr (the worker's band)
const WORDS = 10;

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, control, rowsPerBlock } = workerData;
const g = new WebAssembly.Instance(module, { env: { memory } }).exports;
const ctl = new Int32Array(control);
const arg = new Uint32Array(control);
let seen = 0;
for (;;) {
  Atomics.wait(ctl, ${SEQ}, seen);
  const seq = Atomics.load(ctl, ${SEQ});
  if (seq < 0) break;
  if (seq === seen) continue;
  seen = seq;
  let status = 0;
  try {
    const a = arg[${ARGS}], bp = arg[${ARGS + 1}], c = arg[${ARGS + 2}], M = arg[${ARGS + 3}], N = arg[${ARGS + 4}], K = arg[${ARGS + 5}];
    const sr = arg[${ARGS + 6}];
    const main = M - (M % rowsPerBlock);
    if (main > 0) g.gemm4(a, bp, c, main, N, K, sr);
    if (M > main) g.gemm1(a + main * sr, bp, c + main * N * 4, M - main, N, K, sr);
  } catch (e) {
    status = 1;
  }
  Atomics.store(ctl, ${STATUS}, status);
  Atomics.store(ctl, ${DONE}, seq);
  Atomics.notify(ctl, ${DONE});
}
`;

/** How long the main thread waits for a worker's band before giving up (a worker that died). */
const WAIT_MS = 60_000;

interface Helper {
  worker: Worker;
  ctl: Int32Array;
  arg: Uint32Array;
  alive: boolean;
}

/**
 * The product on `threads` threads (this one and threads − 1 workers) over `memory`, which must be
 * shared; null when it is not, or when the module does not compile here. `dispose` stops the workers.
 */
export async function createThreadedGemm(memory: WebAssembly.Memory, threads: number): Promise<(WasmGemm & { dispose(): void }) | null> {
  if (threads < 2 || !(memory.buffer instanceof SharedArrayBuffer)) return null;
  const simd = gemmSimd(memory);
  if (!simd) return null;
  const module = await WebAssembly.compile(gemmModuleBytes(true));
  const helpers: Helper[] = [];
  for (let t = 1; t < threads; t++) {
    const control = new SharedArrayBuffer(WORDS * 4);
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, memory, control, rowsPerBlock: GEMM_ROWS } });
    worker.unref();
    const h: Helper = { worker, ctl: new Int32Array(control), arg: new Uint32Array(control), alive: true };
    worker.on('error', () => (h.alive = false));
    worker.on('exit', () => (h.alive = false));
    helpers.push(h);
  }
  let seq = 0;
  let broken: string | null = null;
  const stop = () => {
    for (const h of helpers) {
      Atomics.store(h.ctl, SEQ, -1);
      Atomics.notify(h.ctl, SEQ);
    }
  };
  return {
    threads,
    pack: (b, bp, K, N) => simd.pack(b, bp, K, N),
    transpose: (src, dst, rows, cols) => simd.transpose(src, dst, rows, cols),
    mul(a, bp, c, M, N, K, sr = 4 * K) {
      if (broken) throw new Error(`wasm matrix product: ${broken}`);
      // Bands of whole 4-row blocks; the main thread takes the last band (with any remainder rows).
      const parts = Math.min(threads, Math.max(1, Math.floor(M / (GEMM_ROWS * 4))));
      if (parts < 2) {
        gemmRows(simd, a, bp, c, 0, M, N, K, sr);
        return;
      }
      const band = Math.ceil(M / parts / GEMM_ROWS) * GEMM_ROWS;
      seq = (seq + 1) & 0x3fffffff;
      const used = helpers.slice(0, parts - 1);
      used.forEach((h, i) => {
        const m0 = i * band;
        const rows = Math.min(band, M - m0);
        h.arg[ARGS] = a + m0 * sr;
        h.arg[ARGS + 1] = bp;
        h.arg[ARGS + 2] = c + m0 * N * 4;
        h.arg[ARGS + 3] = rows;
        h.arg[ARGS + 4] = N;
        h.arg[ARGS + 5] = K;
        h.arg[ARGS + 6] = sr;
        Atomics.store(h.ctl, SEQ, seq);
        Atomics.notify(h.ctl, SEQ);
      });
      let failed: unknown = null;
      try {
        gemmRows(simd, a, bp, c, Math.min(M, used.length * band), M, N, K, sr);
      } catch (e) {
        failed = e; // thrown once the workers are done with this call (they must not race the next)
      }
      for (const h of used) {
        const deadline = Date.now() + WAIT_MS;
        for (;;) {
          const done = Atomics.load(h.ctl, DONE);
          if (done === seq) break;
          if (!h.alive || Date.now() > deadline) {
            broken = h.alive ? `a worker thread did not answer in ${WAIT_MS / 1000} s` : 'a worker thread stopped';
            stop();
            throw new Error(`wasm matrix product: ${broken}`);
          }
          Atomics.wait(h.ctl, DONE, done, 100);
        }
        if (Atomics.load(h.ctl, STATUS) !== 0 && !failed) failed = new Error('wasm matrix product: a worker thread failed (memory out of bounds?)');
      }
      if (failed) throw failed;
    },
    dispose() {
      broken = 'its worker threads were stopped (dispose)';
      stop();
    },
  };
}

let registered = false;

/**
 * Registers the threaded product as the provider `initBackend` uses for wasm with ≥ 2 threads
 * (`enableWasmThreads` calls this). Idempotent.
 */
export function registerThreadedGemmProvider(): void {
  if (registered) return;
  registered = true;
  setWasmGemmProvider(async (_backend: BackendWasm, memory: WebAssembly.Memory, threads: number) => createThreadedGemm(memory, threads));
}
