/**
 * Convolution benchmark: a 3×3 conv 128→128 at 64×64, batch 1, same padding — forward, input gradient
 * and filter gradient — on wasm (1 or more threads) or cpu, with RAGAN's kernels or tfjs's stock ones.
 *
 *   tsx bench/conv.ts --backend wasm --threads 2 [--reps 7] [--kernels stock]
 *
 * Prints one JSON object per op. Threads are fixed when wasm initialises: one setting per process.
 */
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/init-backend.js';
import { restoreStockKernels } from '../src/backend/wasm-training.js';
import { enableWasmThreads } from '../src/node/wasm-threads.js';

export type ConvBenchOp = 'forward' | 'inputGrad' | 'filterGrad';

export interface ConvBenchRow {
  op: ConvBenchOp;
  shape: string;
  backend: string;
  threads: number;
  /** 'ragan' = kernels registered by initBackend (cpu: with the composite filter gradient); 'stock' = tfjs's. */
  kernels: 'ragan' | 'stock';
  medianMs: number;
  gflops: number;
}

export interface ConvBenchOptions {
  backend: 'wasm' | 'cpu';
  /** wasm only; needs a process where wasm is not yet initialised. Default 1. */
  threads?: number;
  /** Timed rounds (each op once per round) after one warm-up round. Default 9 (wasm), 3 (cpu). */
  reps?: number;
  /** Default 'ragan'. Stock wasm has no filter gradient, and stock cpu's takes ~1 min here: both skipped. */
  kernels?: 'ragan' | 'stock';
}

const B = 1;
const H = 64;
const W = 64;
const CI = 128;
const CO = 128;
const K = 3;
const FLOPS = 2 * H * W * CI * CO * K * K; // per op, batch 1
const SHAPE = `x[${B},${H},${W},${CI}] w[${K},${K},${CI},${CO}] same`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export async function benchConv(opts: ConvBenchOptions): Promise<ConvBenchRow[]> {
  const kernels = opts.kernels ?? 'ragan';
  const threads = opts.backend === 'wasm' ? (opts.threads ?? 1) : 1;
  const reps = opts.reps ?? (opts.backend === 'wasm' ? 9 : 3);
  const info = await initBackend({
    backend: opts.backend,
    quiet: true,
    threads,
    fastCpuConvFilterGrad: kernels === 'ragan',
    beforeWasmInit: threads > 1 ? () => enableWasmThreads(threads) : undefined,
  });
  if (kernels === 'stock') restoreStockKernels(opts.backend);

  const x = tf.randomUniform([B, H, W, CI], -1, 1, 'float32', 1) as tf.Tensor4D;
  const w = tf.randomUniform([K, K, CI, CO], -0.1, 0.1, 'float32', 2) as tf.Tensor4D;
  const dy = tf.randomUniform([B, H, W, CO], -1, 1, 'float32', 3) as tf.Tensor4D;
  const convAttrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined } as unknown as tf.NamedAttrMap;
  const ops: Array<[ConvBenchOp, () => tf.Tensor]> = [
    ['forward', () => tf.conv2d(x, w, 1, 'same')],
    [
      'inputGrad',
      () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...convAttrs, inputShape: [B, H, W, CI] }) as tf.Tensor,
    ],
  ];
  if (kernels === 'ragan') {
    ops.push([
      'filterGrad',
      () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...convAttrs, filterShape: [K, K, CI, CO] }) as tf.Tensor,
    ]);
  }

  const rows: ConvBenchRow[] = [];
  try {
    // Interleaved (forward, dX, dW, forward, …): this machine's speed drifts by up to 2× over seconds,
    // and interleaving gives every op the same share of slow and fast moments.
    const times = ops.map(() => [] as number[]);
    for (let i = 0; i <= reps; i++) {
      ops.forEach(([, f], k) => {
        const t0 = performance.now();
        const y = f();
        y.dataSync();
        const ms = performance.now() - t0;
        y.dispose();
        if (i > 0) times[k]!.push(ms); // the first round is warm-up (XNNPACK packs weights, heap grows)
      });
    }
    ops.forEach(([op], k) => {
      const medianMs = median(times[k]!);
      rows.push({
        op,
        shape: SHAPE,
        backend: info.name,
        threads: info.threads ?? threads,
        kernels,
        medianMs: Math.round(medianMs * 100) / 100,
        gflops: Math.round((FLOPS / medianMs / 1e6) * 10) / 10,
      });
    });
  } finally {
    tf.dispose([x, w, dy]);
    if (kernels === 'stock') await initBackend({ backend: opts.backend, quiet: true }); // re-registers ours
  }
  return rows;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const backend = (arg('backend') ?? 'wasm') as 'wasm' | 'cpu';
  const threads = arg('threads') ? Number(arg('threads')) : undefined;
  const reps = arg('reps') ? Number(arg('reps')) : undefined;
  const kernels = (arg('kernels') ?? 'ragan') as 'ragan' | 'stock';
  const rows = await benchConv({ backend, kernels, ...(threads ? { threads } : {}), ...(reps ? { reps } : {}) });
  for (const r of rows) console.log(JSON.stringify(r));
}
