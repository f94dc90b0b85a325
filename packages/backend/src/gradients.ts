/**
 * Gradients tfjs 4.22 lacks for second-order differentiation (the R1 penalty differentiates a gradient):
 * - comparison/logical ops (`leakyRelu`, `prelu`, `where`, `clipByValue`, `max`… put them in their
 *   gradients): piecewise constant, so zero;
 * - `AvgPoolGrad`, `ResizeNearestNeighborGrad`, `ResizeBilinearGrad`: linear in `dy`, so the gradient
 *   w.r.t. `dy` is the adjoint of the kernel, i.e. the forward op (pooling / resizing) of the incoming
 *   gradient.
 * Still missing (not used by RAGAN): MaxPoolGrad, StridedSlice, depthwise-conv gradients of gradients,
 * and `logSigmoid` (a customGrad op; use `softplus(-x)` instead).
 *
 * Registered only where tfjs has none; idempotent; gradients are global (every backend).
 */
import * as tf from '@tensorflow/tfjs';

const BINARY_PIECEWISE_CONSTANT = ['Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal', 'NotEqual', 'LogicalAnd', 'LogicalOr', 'LogicalXor'] as const;
const UNARY_PIECEWISE_CONSTANT = ['LogicalNot', 'IsNan', 'IsInf', 'IsFinite'] as const;

// tfjs requires float32 gradients even for bool inputs, so zeros(shape), not zerosLike(x).
const zeros = (t: tf.Tensor) => () => tf.zeros(t.shape, 'float32');

function addIfMissing(config: tf.GradConfig): void {
  if (!tf.getGradient(config.kernelName)) tf.registerGradient(config);
}

/** Marks our LeakyRelu gradient, so a second registration skips it. */
const LEAKY_MARK = Symbol.for('ragan.leakyReluGrad');

/**
 * LeakyRelu's gradient as `dy · step(x, alpha)` (Step gives 1 above 0, alpha elsewhere), replacing
 * tfjs's `where(x > 0, dy, dy · alpha)`: the same values (alpha at 0 in both), two kernels instead of
 * four, and no boolean tensor. It was 6 % of a training step on wasm (Greater + Select, profiled).
 * Second order: Step's own gradient is zero, as the comparison's is.
 */
function registerLeakyReluGradient(): void {
  const current = tf.getGradient('LeakyRelu') as (tf.GradConfig & { [LEAKY_MARK]?: true }) | undefined;
  if (current?.[LEAKY_MARK]) return;
  const config: tf.GradConfig & { [LEAKY_MARK]: true } = {
    kernelName: 'LeakyRelu',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const { alpha } = attrs as unknown as tf.LeakyReluAttrs;
      return { x: () => tf.mul(dy as tf.Tensor, tf.step(x!, alpha)) };
    },
    [LEAKY_MARK]: true,
  };
  tf.registerGradient(config);
}

/** Registers the missing second-order gradients listed above (and the faster LeakyRelu gradient). Idempotent. */
export function registerSecondOrderGradients(): void {
  registerLeakyReluGradient();
  for (const kernelName of BINARY_PIECEWISE_CONSTANT) {
    addIfMissing({
      kernelName,
      inputsToSave: ['a', 'b'],
      gradFunc: (_dy, [a, b]) => ({ a: zeros(a!), b: zeros(b!) }),
    });
  }
  for (const kernelName of UNARY_PIECEWISE_CONSTANT) {
    addIfMissing({ kernelName, inputsToSave: ['x'], gradFunc: (_dy, [x]) => ({ x: zeros(x!) }) });
  }

  // AvgPoolGrad(dy) spreads each dy value over its window with weight 1/(kh·kw), padded cells included
  // (cpu and wasm kernels alike). Its adjoint: zero-pad ddx the same way, average over each window.
  // (tf.avgPool with 'same' padding would divide by the in-bounds count instead: wrong at the borders.)
  addIfMissing({
    kernelName: 'AvgPoolGrad',
    inputsToSave: ['dy', 'input'],
    gradFunc: (ddx, [dy, input], attrs) => {
      const a = attrs as unknown as tf.AvgPoolGradAttrs & { dimRoundingMode?: 'floor' | 'round' | 'ceil' };
      return {
        dy: () => {
          const g = ddx as tf.Tensor4D;
          const info = tf.backend_util.computePool2DInfo(
            input!.shape as [number, number, number, number],
            a.filterSize,
            a.strides,
            1,
            a.pad,
            a.dimRoundingMode,
          );
          const { top, bottom, left, right } = info.padInfo;
          const padded =
            top || bottom || left || right
              ? tf.pad(g, [
                  [0, 0],
                  [top, bottom],
                  [left, right],
                  [0, 0],
                ])
              : g;
          let y = tf.avgPool(padded, [info.filterHeight, info.filterWidth], [info.strideHeight, info.strideWidth], 'valid');
          const [, oh, ow] = dy!.shape as number[];
          if (y.shape[1] !== oh || y.shape[2] !== ow) y = tf.slice(y, [0, 0, 0, 0], [-1, oh!, ow!, -1]);
          return y;
        },
        input: zeros(input!),
      };
    },
  });

  addIfMissing({
    kernelName: 'ResizeNearestNeighborGrad',
    inputsToSave: ['images', 'dy'],
    gradFunc: (ddx, [images, dy], attrs) => {
      const a = attrs as unknown as tf.ResizeNearestNeighborGradAttrs;
      return {
        dy: () => tf.image.resizeNearestNeighbor(ddx as tf.Tensor4D, [dy!.shape[1]!, dy!.shape[2]!], a.alignCorners, a.halfPixelCenters),
        images: zeros(images!),
      };
    },
  });

  addIfMissing({
    kernelName: 'ResizeBilinearGrad',
    inputsToSave: ['images', 'dy'],
    gradFunc: (ddx, [images, dy], attrs) => {
      const a = attrs as unknown as tf.ResizeBilinearGradAttrs;
      return {
        dy: () => tf.image.resizeBilinear(ddx as tf.Tensor4D, [dy!.shape[1]!, dy!.shape[2]!], a.alignCorners, a.halfPixelCenters),
        images: zeros(images!),
      };
    },
  });
}
