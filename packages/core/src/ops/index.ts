// Pure tensor functions (no weights). Each documents its shapes and who disposes what.
export { leakyRelu } from './activations.js';
export { upsampleNearest2x, downsampleAvg2x, globalAvgPool, shiftImages } from './resample.js';
export {
  pixelNorm,
  conditionalBatchNorm,
  conditionalBatchNormWithStats,
  type ConditionalBatchNormOptions,
  type ConditionalBatchNormResult,
} from './normalization.js';
export { modulatedConv2d, demodulationCoefficients, type ModulatedConv2dOptions, type Padding } from './modulated-conv2d.js';
export { minibatchStddev, minibatchGroupSize } from './minibatch-stddev.js';
export { oneHot } from './one-hot.js';
