/**
 * Our wasm matrix product (../wasm-gemm.ts) on several threads in Node: worker threads that
 * instantiate the product's module on the wasm backend's own shared heap, each taking a band of rows.
 *
 * Why: the product is 1.23–1.41× XNNPACK's speed per thread here, but runs on the calling thread only,
 * so with 2 wasm threads XNNPACK's threaded product would win. With a helper thread per extra wasm
 * thread, ours wins again (measured in the Winograd convolutions: see docs/backends.md).
 *
 * How: one `SharedArrayBuffer` of control words per worker. The main thread writes the call's
 * arguments, bumps the sequence number and wakes the worker (`Atomics.notify`), computes its own band,
 * then sleeps until the worker has published the same number as done (`Atomics.wait`, allowed on
 * Node's main thread). A worker polls for 0.1 ms after each band before it sleeps (waking a thread
 * costs ≈ 20 µs), products under 2 M multiply-adds are not split, and idle workers sleep in
 * `Atomics.wait`. Workers are unref'd (they never keep the process alive). The worker source below is this module's own constant code, run with
 * `eval: true` as the threaded wasm backend's own workers are (wasm-threads.ts); it reads nothing else.
 *
 * Only with the threaded wasm build (a shared heap): `enableWasmThreads` registers the provider, and
 * `initBackend` installs the product when wasm runs with more than one thread.
 */
import { Worker } from 'node:worker_threads';
import { setWasmGemmProvider, type WasmGemm } from '../wasm-gemm.js';
import { GEMM_ROWS, gemmModuleBytes, gemmSimd } from '../wasm-gemm-simd.js';

// Control words (Int32Array over a SharedArrayBuffer; offsets are stored as unsigned 32-bit).
const SEQ = 0; // main → worker: call number (1, 2, …; never 0); −1 = stop
const DONE = 1; // worker → main: the call number finished
const STATUS = 2; // worker → main: 0 ok, 1 failed
const CLAIM = 3; // the call number whose band someone took (worker or main thread: compareExchange)
const READY = 4; // worker → main: 1 once its instance is made
const ARGS = 5; // a, bp, c, M, N, K, sr (the worker's band)
const WORDS = 12;

// Waking a sleeping thread (Atomics.notify → the other side's Atomics.wait returns) took ≈ 20 µs here
// (AMD EPYC): a split product cost ≈ 45 µs more than its work, and lost to one thread below ≈ 2 M
// multiply-adds (64 × 64 × 64: 8.5 µs on one thread, 49.8 µs split). So a worker polls for the next call
// for WORKER_SPIN_MS after each band (Winograd's 16 or 36 products come back to back), and products
// under MIN_SPLIT_MACS are not split. Measured (scratch, best of 5, splitting every product): 64 × 64 ×
// 64 49.8 → 5.6 µs, 1024 × 128 × 128 325.8 → 308.2 µs. The main thread polling too, before it sleeps,
// made the big convolutions slower (64² 128→128 forward 93–121 against 126–177 GFLOP/s), so it does not.
// Alternating processes, 3 rounds, 2 threads, before → after: a `tiny` training step at batch 4 433 →
// 362 ms (medians), a `small` one 2.96 → 2.97 s, the 64² 128→128 convolution's filter gradient 153–164
// → 173–211 GFLOP/s.
const WORKER_SPIN_MS = 0.1;
const MIN_SPLIT_MACS = 1 << 21;

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, control } = workerData;
const g = new WebAssembly.Instance(module, { env: { memory } }).exports;
const ctl = new Int32Array(control);
const arg = new Uint32Array(control);
Atomics.store(ctl, ${READY}, 1);
Atomics.notify(ctl, ${READY});
let seen = 0;
for (;;) {
  const until = performance.now() + ${WORKER_SPIN_MS};
  while (Atomics.load(ctl, ${SEQ}) === seen && performance.now() < until);
  Atomics.wait(ctl, ${SEQ}, seen);
  const seq = Atomics.load(ctl, ${SEQ});
  if (seq < 0) break;
  if (seq === seen) continue;
  seen = seq;
  // The band is ours only if the main thread has not taken it over (a late wake-up).
  const claimed = Atomics.load(ctl, ${CLAIM});
  if (claimed === seq || Atomics.compareExchange(ctl, ${CLAIM}, claimed, seq) !== claimed) continue;
  let status = 0;
  try {
    const a = arg[${ARGS}], bp = arg[${ARGS + 1}], c = arg[${ARGS + 2}], M = arg[${ARGS + 3}], N = arg[${ARGS + 4}], K = arg[${ARGS + 5}];
    g.gemm(a, bp, c, M, N, K, arg[${ARGS + 6}]);
  } catch (e) {
    status = 1;
  }
  Atomics.store(ctl, ${STATUS}, status);
  Atomics.store(ctl, ${DONE}, seq);
  Atomics.notify(ctl, ${DONE});
}
`;

/** How long `createThreadedGemm` waits for the workers to start. */
const START_MS = 20_000;
/** How long a call waits for a worker to take its band before the main thread computes it itself. */
const CLAIM_MS = 2_000;
/** How long a call waits for a band a worker has taken (a worker that died while computing). */
const WAIT_MS = 60_000;

interface Helper {
  ctl: Int32Array;
  arg: Uint32Array;
  /** False once it failed to take a band in time: the main thread computes its bands from then on. */
  ok: boolean;
}

/**
 * The product on `threads` threads (this one and threads − 1 workers) over `memory`, which must be
 * shared; null when it is not, when the module does not compile here, or when the workers do not start
 * within 20 s. `dispose` stops the workers. Products under `opts.minSplitMacs` multiply-adds (M·N·K;
 * default 2²¹) run on the calling thread alone.
 *
 * Robustness: a worker that does not take its band within 2 s (it died, or never woke) loses it: the
 * main thread takes the band over (an atomic claim, so that exactly one of them computes it) and
 * computes that worker's bands itself from then on. A worker that took its band but has not finished
 * after 60 s fails the call with an error, and the product runs on the main thread alone afterwards.
 */
export async function createThreadedGemm(
  memory: WebAssembly.Memory,
  threads: number,
  opts: { minSplitMacs?: number } = {},
): Promise<(WasmGemm & { dispose(): void }) | null> {
  const minSplitMacs = opts.minSplitMacs ?? MIN_SPLIT_MACS;
  if (threads < 2 || !(memory.buffer instanceof SharedArrayBuffer)) return null;
  const simd = gemmSimd(memory);
  if (!simd) return null;
  const module = await WebAssembly.compile(gemmModuleBytes(true, simd.fma)); // the same loops as the main thread's
  const helpers: Helper[] = [];
  const stop = () => {
    for (const h of helpers) {
      Atomics.store(h.ctl, SEQ, -1);
      Atomics.notify(h.ctl, SEQ);
    }
  };
  try {
    for (let t = 1; t < threads; t++) {
      const control = new SharedArrayBuffer(WORDS * 4);
      const h: Helper = { ctl: new Int32Array(control), arg: new Uint32Array(control), ok: true };
      helpers.push(h);
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, memory, control } });
      worker.unref();
      worker.on('error', () => (h.ok = false));
    }
    // Wait for every worker's instance, without blocking the event loop.
    const deadline = Date.now() + START_MS;
    while (helpers.some((h) => h.ok && Atomics.load(h.ctl, READY) !== 1)) {
      if (Date.now() > deadline) throw new Error('worker threads did not start');
      await new Promise((r) => setTimeout(r, 5));
    }
    if (helpers.some((h) => !h.ok)) throw new Error('a worker thread failed to start');
  } catch {
    stop();
    return null;
  }
  let seq = 0;
  let disposed = false;
  let alone = false; // a worker hung: everything on the main thread from now on
  return {
    threads,
    fma: simd.fma,
    memory,
    pack: (b, bp, K, N) => simd.pack(b, bp, K, N),
    transpose: (src, dst, rows, cols, srcRow = 4 * cols, dstRowF = rows) => simd.transpose(src, dst, rows, cols, srcRow, dstRowF),
    mul(a, bp, c, M, N, K, sr = 4 * K) {
      if (disposed) throw new Error('wasm matrix product: its worker threads were stopped (dispose)');
      /** Rows [m0, m1) on this thread. */
      const here = (m0: number, m1: number) => simd.gemm(a + m0 * sr, bp, c + m0 * N * 4, m1 - m0, N, K, sr);
      const live = alone ? [] : helpers.filter((h) => h.ok);
      // Bands of whole 4-row blocks; the main thread takes the last band (with any remainder rows).
      const parts = M * N * K < minSplitMacs ? 1 : Math.min(live.length + 1, Math.max(1, Math.floor(M / (GEMM_ROWS * 4))));
      if (parts < 2) {
        here(0, M);
        return;
      }
      const band = Math.ceil(M / parts / GEMM_ROWS) * GEMM_ROWS;
      seq = (seq % 0x3fffffff) + 1; // 1 … 2³⁰ − 1, never 0 (a fresh worker's last call)
      const used = live.slice(0, parts - 1);
      const bands = used.map((h, i) => {
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
        return [m0, m0 + rows] as const;
      });
      let failed: unknown = null;
      try {
        here(Math.min(M, used.length * band), M);
      } catch (e) {
        failed = e; // thrown once the workers are done with this call (they must not race the next)
      }
      used.forEach((h, i) => {
        const claimBy = Date.now() + CLAIM_MS;
        let doneBy = Infinity;
        for (;;) {
          const done = Atomics.load(h.ctl, DONE);
          if (done === seq) break;
          const claimed = Atomics.load(h.ctl, CLAIM);
          if (claimed !== seq && Date.now() > claimBy && Atomics.compareExchange(h.ctl, CLAIM, claimed, seq) === claimed) {
            // The worker never took its band: compute it here, and its next ones too.
            h.ok = false;
            try {
              here(...bands[i]!);
            } catch (e) {
              failed ??= e;
            }
            return;
          }
          if (claimed === seq && doneBy === Infinity) doneBy = Date.now() + WAIT_MS;
          if (Date.now() > doneBy) {
            alone = true;
            failed ??= new Error(`wasm matrix product: a worker thread took its rows but did not finish in ${WAIT_MS / 1000} s`);
            return;
          }
          Atomics.wait(h.ctl, DONE, done, 50);
        }
        if (Atomics.load(h.ctl, STATUS) !== 0) failed ??= new Error('wasm matrix product: a worker thread failed (memory out of bounds?)');
      });
      if (failed) throw failed;
    },
    dispose() {
      disposed = true;
      stop();
    },
    // For tests: the workers stop as if they had died, and the product is not told; workers still used.
    [STOP_WORKERS_FOR_TESTS]: stop,
    [WORKERS_IN_USE_FOR_TESTS]: () => (alone ? 0 : helpers.filter((h) => h.ok).length),
  } as WasmGemm & { dispose(): void };
}

/** For tests: stops the workers of a threaded product behind its back (a worker that died). */
export const STOP_WORKERS_FOR_TESTS = Symbol('stopWorkersForTests');
/** For tests: how many workers a threaded product still gives bands to. */
export const WORKERS_IN_USE_FOR_TESTS = Symbol('workersInUseForTests');

let registered = false;

/**
 * Registers the threaded product as the provider `initBackend` uses for wasm with ≥ 2 threads
 * (`enableWasmThreads` calls this). Idempotent.
 */
export function registerThreadedGemmProvider(): void {
  if (registered) return;
  registered = true;
  setWasmGemmProvider(createThreadedGemm);
}
