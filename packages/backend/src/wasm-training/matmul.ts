// ---------------------------------------------------------------------------------------------------
// BatchMatMul / _FusedMatMul on wasm: XNNPACK only serves the untransposed, unbatched case.
// ---------------------------------------------------------------------------------------------------
import * as tf from '@tensorflow/tfjs';
import { type Backend, type KernelFunc, Scratch, type TensorInfo, kernel, kernelOf, prod, run } from './common.js';

/** Below this many multiply-adds per product, splitting a batch costs more than the slow loop. */
const MIN_SPLIT_MACS = 1 << 15;

function transposeLast2(transpose: KernelFunc, x: TensorInfo, backend: Backend): TensorInfo {
  const r = x.shape.length;
  const perm = [...Array(r).keys()];
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return run(transpose, { x }, backend, { perm });
}

export function makeWasmBatchMatMul(stock: tf.KernelConfig): KernelFunc {
  const transpose = kernelOf('Transpose', 'wasm');
  const reshape = kernelOf('Reshape', 'wasm');
  const slice = kernelOf('Slice', 'wasm');
  const concat = kernelOf('Concat', 'wasm');
  const mm = stock.kernelFunc;
  const plain = { transposeA: false, transposeB: false };

  return kernel(({ inputs, backend, attrs }) => {
    let { a, b } = inputs as unknown as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
    const s = new Scratch(backend);
    try {
      if (transposeA) a = s.keep(transposeLast2(transpose, a, backend));
      if (transposeB) b = s.keep(transposeLast2(transpose, b, backend));
      const M = a.shape[a.shape.length - 2]!;
      const K = a.shape[a.shape.length - 1]!;
      const N = b.shape[b.shape.length - 1]!;
      const outerA = a.shape.slice(0, -2);
      const outerB = b.shape.slice(0, -2);
      const batchA = prod(outerA);
      const batchB = prod(outerB);
      if (batchA <= 1 && batchB <= 1) return run(mm, { a, b }, backend, { ...attrs, ...plain });
      const outShape = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB).concat([M, N]);
      if (batchB === 1) {
        // One product [batchA·M, K]·[K, N]: rows of all batches share b.
        const a2 = s.keep(run(reshape, { x: a }, backend, { shape: [batchA * M, K] }));
        const b2 = s.keep(run(reshape, { x: b }, backend, { shape: [K, N] }));
        const y = s.keep(run(mm, { a: a2, b: b2 }, backend, plain));
        return run(reshape, { x: y }, backend, { shape: outShape });
      }
      if ((batchA !== 1 && batchA !== batchB) || M * K * N < MIN_SPLIT_MACS) {
        return run(mm, { a, b }, backend, { ...attrs, ...plain });
      }
      const a3 = s.keep(run(reshape, { x: a }, backend, { shape: [batchA, M, K] }));
      const b3 = s.keep(run(reshape, { x: b }, backend, { shape: [batchB, K, N] }));
      const a2 = batchA === 1 ? s.keep(run(reshape, { x: a3 }, backend, { shape: [M, K] })) : null;
      const parts: TensorInfo[] = [];
      for (let i = 0; i < batchB; i++) {
        let ai = a2;
        if (!ai) {
          const sa = s.keep(run(slice, { x: a3 }, backend, { begin: [i, 0, 0], size: [1, M, K] }));
          ai = s.keep(run(reshape, { x: sa }, backend, { shape: [M, K] }));
        }
        const sb = s.keep(run(slice, { x: b3 }, backend, { begin: [i, 0, 0], size: [1, K, N] }));
        const bi = s.keep(run(reshape, { x: sb }, backend, { shape: [K, N] }));
        parts.push(s.keep(run(mm, { a: ai, b: bi }, backend, plain)));
      }
      const cat = s.keep(run(concat, parts, backend, { axis: 0 }));
      return run(reshape, { x: cat }, backend, { shape: outShape });
    } finally {
      s.dispose();
    }
  });
}

export function makeWasmFusedMatMul(stock: tf.KernelConfig): KernelFunc {
  const transpose = kernelOf('Transpose', 'wasm');
  return kernel(({ inputs, backend, attrs }) => {
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    if (!transposeA && !transposeB) return stock.kernelFunc({ inputs, backend, attrs });
    const { a, b } = inputs as unknown as { a: TensorInfo; b: TensorInfo };
    const s = new Scratch(backend);
    try {
      const a2 = transposeA ? s.keep(transposeLast2(transpose, a, backend)) : a;
      const b2 = transposeB ? s.keep(transposeLast2(transpose, b, backend)) : b;
      return stock.kernelFunc({
        inputs: { ...inputs, a: a2, b: b2 },
        backend,
        attrs: { ...attrs, transposeA: false, transposeB: false },
      });
    } finally {
      s.dispose();
    }
  });
}
