// ---------------------------------------------------------------------------------------------------
// Identity on wasm shares the input's memory (a reference count), as the cpu backend's does, instead of
// copying it. tfjs clones every tensor it saves for a gradient: with the copying kernel each saved
// activation existed twice during a training step (273 MiB of copies in one `small` generator pass
// with its gradient at batch 2, measured). tfjs tensors are immutable and every kernel writes only
// into outputs it allocates, so sharing is safe.
// ---------------------------------------------------------------------------------------------------
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { type KernelFunc, type TensorInfo, kernel, prod, view } from './common.js';

export function makeWasmSharedIdentity(stock: tf.KernelConfig): KernelFunc {
  return kernel<BackendWasm>((args) => {
    const { x } = args.inputs as unknown as { x: TensorInfo };
    if (x.dtype === 'string') return stock.kernelFunc(args);
    args.backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  });
}

// ---------------------------------------------------------------------------------------------------
// SplitV on wasm: the stock kernel slices each piece element by element (profiled on a `small` step at
// batch 2: 17–20 ms per SplitV of 2M floats, the nearest-upsample gradient). Here one `copyWithin` per
// contiguous run. Other dtypes go to the stock kernel.
// (Sum over leading axes, which wasm transposes first, was tried as a product with a vector of ones:
// XNNPACK packs the summed tensor as the product's weights on every new tensor, 10 ms per
// [2,128,128,32] sum in a training step against the stock kernel's 7 ms, so the stock kernel stays.)
// ---------------------------------------------------------------------------------------------------

export function makeWasmSplitV(stock: tf.KernelConfig): KernelFunc {
  return kernel<BackendWasm>((args) => {
    const { x } = args.inputs as unknown as { x: TensorInfo };
    if (x.dtype !== 'float32') return stock.kernelFunc(args);
    const { numOrSizeSplits, axis } = args.attrs as unknown as tf.SplitVAttrs;
    const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
    const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, numOrSizeSplits, ax);
    const outer = prod(x.shape.slice(0, ax));
    const inner = prod(x.shape.slice(ax + 1));
    const D = x.shape[ax]!;
    const backend = args.backend;
    const outs = sizes.map((s) =>
      backend.makeOutput(
        x.shape.map((d, i) => (i === ax ? s : d)),
        'float32',
      ),
    );
    // views after every allocation (allocating may move the heap)
    const srcView = view(backend, x);
    const heap = new Float32Array(srcView.buffer);
    const so = srcView.byteOffset >>> 2;
    let off = 0;
    sizes.forEach((s, i) => {
      const run = s * inner;
      if (run > 0) {
        const d0 = (backend.typedArrayFromHeap(outs[i]!) as Float32Array).byteOffset >>> 2;
        for (let o = 0; o < outer; o++) {
          const from = so + (o * D + off) * inner;
          heap.copyWithin(d0 + o * run, from, from + run);
        }
      }
      off += s;
    });
    return outs;
  });
}
