/**
 * Convolution benchmark: a 3×3 conv 128→128 at 64×64, batch 1, same padding — forward, input gradient
 * and filter gradient — on wasm (1 or more threads) or cpu, with RAGAN's kernels or tfjs's stock ones;
 * GFLOP/s count the direct convolution's multiply-adds (2·MACs): for layers that wasm runs by Winograd
 * (fewer multiplies) the figure is an effective rate;
 * on wasm also a stride-2 layer (3×3, 64→128, 128² → 64², pad 1), whose input gradient runs by phases.
 *
 *   tsx bench/conv.ts --backend wasm --threads 2 [--reps 7] [--kernels stock|onnx]
 *
 * Prints one JSON object per op. Threads are fixed when wasm initialises: one setting per process.
 */
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/init-backend.js';
import { restoreStockKernels } from '../src/wasm-training.js';
import { initNodeBackend } from '../src/node/index.js';
import { enableOnnxConvKernels, loadOnnxRuntimeBinding, onnxConvKernelsEnabled } from '../src/node/onnx-conv-kernels.js';
import { median } from '../../../bench/results-file.js';

export type ConvBenchOp = 'forward' | 'inputGrad' | 'filterGrad';

export interface ConvBenchRow {
  op: ConvBenchOp;
  shape: string;
  backend: string;
  threads: number;
  /**
   * 'ragan' = kernels registered by initBackend (cpu: with the composite filter gradient); 'stock' =
   * tfjs's; 'onnx' = wasm with its convolutions in ONNX Runtime (enableOnnxConvKernels).
   */
  kernels: 'ragan' | 'stock' | 'onnx';
  medianMs: number;
  gflops: number;
}

export interface ConvBenchOptions {
  backend: 'wasm' | 'cpu';
  /** wasm only; needs a process where wasm is not yet initialised. Default 1. */
  threads?: number;
  /** Timed rounds (each op once per round) after one warm-up round. Default 9 (wasm), 3 (cpu). */
  reps?: number;
  /**
   * Default 'ragan'. Stock wasm has no filter gradient, and stock cpu's takes ~1 min here: both skipped.
   * 'onnx' (wasm only) leaves the ONNX Runtime kernels enabled afterwards.
   */
  kernels?: 'ragan' | 'stock' | 'onnx';
}

const B = 1;
const H = 64;
const W = 64;
const CI = 128;
const CO = 128;
const K = 3;
const FLOPS = 2 * H * W * CI * CO * K * K; // per op, batch 1
const SHAPE = `x[${B},${H},${W},${CI}] w[${K},${K},${CI},${CO}] same`;
// A stride-2 layer as in the encoder and discriminator: 3×3, 64 → 128 channels, 128² → 64².
const S2 = { H: 128, W: 128, CI: 64, CO: 128 };
const S2_FLOPS = 2 * (S2.H / 2) * (S2.W / 2) * S2.CI * S2.CO * K * K;
const S2_SHAPE = `x[${B},${S2.H},${S2.W},${S2.CI}] w[${K},${K},${S2.CI},${S2.CO}] stride 2 pad 1`;

/**
 * The stride-1 layer's three ops (forward, input gradient, filter gradient) on the active backend, with
 * their inputs; `dispose` frees the inputs. The PyTorch twin's `conv` times the same layer.
 */
export function stride1ConvOps(): { ops: Record<ConvBenchOp, () => tf.Tensor>; dispose: () => void } {
  const x = tf.randomUniform([B, H, W, CI], -1, 1, 'float32', 1) as tf.Tensor4D;
  const w = tf.randomUniform([K, K, CI, CO], -0.1, 0.1, 'float32', 2) as tf.Tensor4D;
  const dy = tf.randomUniform([B, H, W, CO], -1, 1, 'float32', 3) as tf.Tensor4D;
  const convAttrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined } as unknown as tf.NamedAttrMap;
  return {
    ops: {
      forward: () => tf.conv2d(x, w, 1, 'same'),
      inputGrad: () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...convAttrs, inputShape: [B, H, W, CI] }) as tf.Tensor,
      filterGrad: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...convAttrs, filterShape: [K, K, CI, CO] }) as tf.Tensor,
    },
    dispose: () => tf.dispose([x, w, dy]),
  };
}

export async function benchConv(opts: ConvBenchOptions): Promise<ConvBenchRow[]> {
  const kernels = opts.kernels ?? 'ragan';
  const threads = opts.backend === 'wasm' ? (opts.threads ?? 1) : 1;
  const reps = opts.reps ?? (opts.backend === 'wasm' ? 9 : 3);
  // as `ragan` does: wasm threads beyond one, relaxed SIMD (fused multiply-adds in our product)
  const info = await initNodeBackend({ backend: opts.backend, quiet: true, threads, fastCpuConvFilterGrad: kernels === 'ragan' });
  if (kernels === 'stock') restoreStockKernels(opts.backend);
  if (kernels === 'onnx') await useOnnxConvs(threads);

  const s1 = stride1ConvOps();
  const x2 = tf.randomUniform([B, S2.H, S2.W, S2.CI], -1, 1, 'float32', 4) as tf.Tensor4D;
  const w2 = tf.randomUniform([K, K, S2.CI, S2.CO], -0.1, 0.1, 'float32', 5) as tf.Tensor4D;
  const dy2 = tf.randomUniform([B, S2.H / 2, S2.W / 2, S2.CO], -1, 1, 'float32', 6) as tf.Tensor4D;
  const s2Attrs = { strides: 2, pad: 1, dataFormat: 'NHWC', dimRoundingMode: undefined } as unknown as tf.NamedAttrMap;
  type Op = [ConvBenchOp, () => tf.Tensor, string, number];
  const ops: Op[] = [
    ['forward', s1.ops.forward, SHAPE, FLOPS],
    ['inputGrad', s1.ops.inputGrad, SHAPE, FLOPS],
  ];
  if (kernels !== 'stock') ops.push(['filterGrad', s1.ops.filterGrad, SHAPE, FLOPS]);
  if (opts.backend === 'wasm') {
    ops.push(['forward', () => tf.conv2d(x2, w2, 2, 1), S2_SHAPE, S2_FLOPS]);
    ops.push([
      'inputGrad',
      () => tf.engine().runKernel('Conv2DBackpropInput', { dy: dy2, filter: w2 }, { ...s2Attrs, inputShape: [B, S2.H, S2.W, S2.CI] }) as tf.Tensor,
      S2_SHAPE,
      S2_FLOPS,
    ]);
    if (kernels !== 'stock') {
      ops.push([
        'filterGrad',
        () => tf.engine().runKernel('Conv2DBackpropFilter', { x: x2, dy: dy2 }, { ...s2Attrs, filterShape: [K, K, S2.CI, S2.CO] }) as tf.Tensor,
        S2_SHAPE,
        S2_FLOPS,
      ]);
    }
  }

  const rows: ConvBenchRow[] = [];
  try {
    // Interleaved (forward, dX, dW, forward, …): this machine's speed drifts by up to 2× over seconds,
    // and interleaving gives every op the same share of slow and fast moments.
    const times = ops.map(() => [] as number[]);
    // wasm's first round is warm-up (XNNPACK packs weights, the heap grows); cpu has neither, and one
    // of its rounds takes ~30 s, so it is not warmed up.
    const warm = opts.backend === 'cpu' ? 0 : 1;
    for (let i = 1 - warm; i <= reps; i++) {
      ops.forEach(([, f], k) => {
        // Kernels on wasm and cpu run synchronously: the result is complete when f() returns. It is not
        // copied out of the backend (dataSync), as PyTorch's twin does not copy its result either.
        const t0 = performance.now();
        const y = f();
        const ms = performance.now() - t0;
        y.dispose();
        if (i > 0) times[k]!.push(ms);
      });
    }
    ops.forEach(([op, , shape, flops], k) => {
      const medianMs = median(times[k]!);
      rows.push({
        op,
        shape,
        backend: info.name,
        threads: info.threads ?? threads,
        kernels,
        medianMs: Math.round(medianMs * 100) / 100,
        gflops: Math.round((flops / medianMs / 1e6) * 10) / 10,
      });
    });
  } finally {
    s1.dispose();
    tf.dispose([x2, w2, dy2]);
    if (kernels === 'stock') await initBackend({ backend: opts.backend, quiet: true }); // re-registers ours
  }
  return rows;
}

/** Convolutions of the wasm backend in ONNX Runtime from here on (as `ragan train` does by default). */
export async function useOnnxConvs(threads: number): Promise<void> {
  if (onnxConvKernelsEnabled()) return;
  const probe = await loadOnnxRuntimeBinding((s) => import(s));
  if (!probe.ok) throw new Error(`ONNX Runtime convolutions: ${probe.reason}`);
  enableOnnxConvKernels(probe.binding, { threads });
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const backend = (arg('backend') ?? 'wasm') as 'wasm' | 'cpu';
  const threads = arg('threads') ? Number(arg('threads')) : undefined;
  const reps = arg('reps') ? Number(arg('reps')) : undefined;
  const kernels = (arg('kernels') ?? 'ragan') as 'ragan' | 'stock' | 'onnx';
  const rows = await benchConv({ backend, kernels, ...(threads ? { threads } : {}), ...(reps ? { reps } : {}) });
  for (const r of rows) console.log(JSON.stringify(r));
}
