// ---------------------------------------------------------------------------------------------------
// Resize gradients as exact adjoints of the cpu forward kernels (same source-index arithmetic), for any
// backend. tfjs-backend-cpu 4.22: ResizeNearestNeighborGrad reads dy at the wrong offset for batch > 1,
// ResizeBilinearGrad returns [B, W, H, C] (wrong for non-square images); both ignore halfPixelCenters,
// as do the wasm ones (which are otherwise right, so wasm keeps them when halfPixelCenters is false).
// ---------------------------------------------------------------------------------------------------
import type * as tf from '@tensorflow/tfjs';
import { type KernelFunc, type TensorInfo, kernel } from './common.js';

function resizeRatio(inSize: number, outSize: number, alignCorners: boolean): number {
  return alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
}

function nearestSource(i: number, ratio: number, size: number, alignCorners: boolean, halfPixelCenters: boolean): number {
  const frac = halfPixelCenters ? ratio * (i + 0.5) : ratio * i;
  const n = Math.min(size - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
  return halfPixelCenters ? Math.max(0, n) : n;
}

/** Source rows (or columns) of bilinear interpolation: floor, ceil and the weight of ceil. */
function bilinearSources(outSize: number, inSize: number, ratio: number, halfPixelCenters: boolean) {
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const frac = new Float64Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const f = halfPixelCenters ? ratio * (i + 0.5) - 0.5 : ratio * i;
    lo[i] = Math.max(0, Math.floor(f));
    hi[i] = Math.min(inSize - 1, Math.ceil(f));
    frac[i] = f - lo[i]!;
  }
  return { lo, hi, frac };
}

export const resizeNearestNeighborGrad = kernel(({ inputs, backend, attrs }) => {
  const { images, dy } = inputs as unknown as { images: TensorInfo; dy: TensorInfo };
  const { alignCorners, halfPixelCenters } = attrs as unknown as tf.ResizeNearestNeighborGradAttrs;
  const [batch, inH, inW, depth] = images.shape as [number, number, number, number];
  const [, outH, outW] = dy.shape as [number, number, number, number];
  const dyValues = backend.readSync(dy.dataId) as Float32Array;
  const dx = new Float32Array(batch * inH * inW * depth);
  const rowRatio = resizeRatio(inH, outH, alignCorners);
  const colRatio = resizeRatio(inW, outW, alignCorners);
  const srcCol = new Int32Array(outW);
  for (let c = 0; c < outW; c++) srcCol[c] = nearestSource(c, colRatio, inW, alignCorners, halfPixelCenters);
  let o = 0;
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < outH; r++) {
      const rowBase = (b * inH + nearestSource(r, rowRatio, inH, alignCorners, halfPixelCenters)) * inW;
      for (let c = 0; c < outW; c++) {
        const base = (rowBase + srcCol[c]!) * depth;
        for (let d = 0; d < depth; d++) dx[base + d] = dx[base + d]! + dyValues[o++]!;
      }
    }
  }
  return { dataId: backend.write(dx, images.shape, 'float32'), shape: images.shape, dtype: 'float32' };
});

export const resizeBilinearGrad = kernel(({ inputs, backend, attrs }) => {
  const { images, dy } = inputs as unknown as { images: TensorInfo; dy: TensorInfo };
  const { alignCorners, halfPixelCenters } = attrs as unknown as tf.ResizeBilinearGradAttrs;
  const [batch, inH, inW, depth] = images.shape as [number, number, number, number];
  const [, outH, outW] = dy.shape as [number, number, number, number];
  const dyValues = backend.readSync(dy.dataId) as Float32Array;
  const dx = new Float32Array(batch * inH * inW * depth);
  const rows = bilinearSources(outH, inH, resizeRatio(inH, outH, alignCorners), halfPixelCenters);
  const cols = bilinearSources(outW, inW, resizeRatio(inW, outW, alignCorners), halfPixelCenters);
  let o = 0;
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < outH; r++) {
      const top = (b * inH + rows.lo[r]!) * inW;
      const bottom = (b * inH + rows.hi[r]!) * inW;
      const rf = rows.frac[r]!;
      for (let c = 0; c < outW; c++) {
        const cf = cols.frac[c]!;
        const tl = (top + cols.lo[c]!) * depth;
        const tr = (top + cols.hi[c]!) * depth;
        const bl = (bottom + cols.lo[c]!) * depth;
        const br = (bottom + cols.hi[c]!) * depth;
        const wtl = (1 - rf) * (1 - cf);
        const wtr = (1 - rf) * cf;
        const wbl = rf * (1 - cf);
        const wbr = rf * cf;
        for (let d = 0; d < depth; d++) {
          const g = dyValues[o++]!;
          dx[tl + d] = dx[tl + d]! + g * wtl;
          dx[tr + d] = dx[tr + d]! + g * wtr;
          dx[bl + d] = dx[bl + d]! + g * wbl;
          dx[br + d] = dx[br + d]! + g * wbr;
        }
      }
    }
  }
  return { dataId: backend.write(dx, images.shape, 'float32'), shape: images.shape, dtype: 'float32' };
});

/** Stock kernel unless halfPixelCenters is set, then the adjoint above. */
export function withHalfPixelFix(stock: tf.KernelConfig, fix: KernelFunc): KernelFunc {
  return kernel((args) => {
    const hpc = (args.attrs as { halfPixelCenters?: boolean }).halfPixelCenters === true;
    return (hpc ? fix : stock.kernelFunc)(args);
  });
}
