import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '@ragan/core';
import { requireFaceModels } from './models.js';
import { ALIGNED_EMBEDDING_REGION, cropRegion, resolveRegion, type RegionSpec } from './region.js';

/** face-api's FaceRecognitionNet parameters (a ResNet-34-like dlib model). */
interface ConvLayerParams {
  conv: { filters: tf.Tensor4D; bias: tf.Tensor1D };
  scale: { weights: tf.Tensor1D; biases: tf.Tensor1D };
}
interface ResidualParams {
  conv1: ConvLayerParams;
  conv2: ConvLayerParams;
}
interface RecognitionParams {
  conv32_down: ConvLayerParams;
  conv32_1: ResidualParams;
  conv32_2: ResidualParams;
  conv32_3: ResidualParams;
  conv64_down: ResidualParams;
  conv64_1: ResidualParams;
  conv64_2: ResidualParams;
  conv64_3: ResidualParams;
  conv128_down: ResidualParams;
  conv128_1: ResidualParams;
  conv128_2: ResidualParams;
  conv256_down: ResidualParams;
  conv256_1: ResidualParams;
  conv256_2: ResidualParams;
  conv256_down_out: ResidualParams;
  fc: tf.Tensor2D;
}

export interface FaceEmbeddingOptions {
  /** Value range of `faces`: `signed` = [-1, 1] (RAGAN's images, default) or `byte` = [0, 255]. */
  range?: 'signed' | 'byte';
  /**
   * Which part of each image is the face: `aligned` (default) = the face box inside an FFHQ-Aging crop
   * from alignFace (ALIGNED_EMBEDDING_REGION); `full` = the whole image (already tightly cropped faces);
   * or fractions `{ x, y, width, height }`.
   */
  region?: RegionSpec;
}

const INPUT = 150;
const MEAN_RGB = [122.782, 117.001, 104.298];

/**
 * The 128-D face descriptor of face-api's recognition net (dlib's ResNet; same-person pairs are
 * typically < 0.6 apart in Euclidean distance). `faces`: `[N, H, W, 3]` float. Returns `[N, 128]`, not
 * normalised. Written with plain tfjs ops on face-api's weights (not face-api's own forward, which
 * goes through its NetInput), so it is differentiable with respect to `faces` (`tf.grad` works; the
 * weights are constants, so the net stays frozen). Synchronous: call it inside `tf.tidy` or a gradient
 * function. The caller owns `faces` and disposes the result. Needs `loadFaceModels({ recognition: true })`.
 */
export function faceEmbedding(faces: tf.Tensor4D, options: FaceEmbeddingOptions = {}): tf.Tensor2D {
  const { faceapi } = requireFaceModels('recognition', 'faceEmbedding');
  const p = faceapi.nets.faceRecognitionNet.params as RecognitionParams;
  if (faces.rank !== 4 || faces.shape[3] !== 3) throw new ShapeError(`faceEmbedding: expected [N, H, W, 3] faces, got [${faces.shape.join(', ')}]`);
  const region = resolveRegion(options.region ?? 'aligned', ALIGNED_EMBEDDING_REGION, 'faceEmbedding.region');
  const signed = (options.range ?? 'signed') === 'signed';
  return tf.tidy(() => {
    const x = tf.cast(faces, 'float32') as tf.Tensor4D;
    const crop = cropRegion(x, region, INPUT);
    // face-api: (pixel - meanRgb) / 255 on 0..255 input.
    const bytes = signed ? tf.mul(tf.add(crop, 1), 127.5) : crop;
    const normalized = tf.div(tf.sub(bytes, tf.tensor1d(MEAN_RGB)), 255) as tf.Tensor4D;

    let out = convDown(normalized, p.conv32_down);
    out = tf.maxPool(out, 3, 2, 'valid');
    out = residual(out, p.conv32_1);
    out = residual(out, p.conv32_2);
    out = residual(out, p.conv32_3);
    out = residualDown(out, p.conv64_down);
    out = residual(out, p.conv64_1);
    out = residual(out, p.conv64_2);
    out = residual(out, p.conv64_3);
    out = residualDown(out, p.conv128_down);
    out = residual(out, p.conv128_1);
    out = residual(out, p.conv128_2);
    out = residualDown(out, p.conv256_down);
    out = residual(out, p.conv256_1);
    out = residual(out, p.conv256_2);
    out = residualDown(out, p.conv256_down_out);
    const pooled = tf.mean(out, [1, 2]) as tf.Tensor2D;
    return tf.matMul(pooled, p.fc);
  });
}

function convLayer(x: tf.Tensor4D, params: ConvLayerParams, stride: 1 | 2, relu: boolean, padding: 'valid' | 'same'): tf.Tensor4D {
  let out = tf.add(tf.conv2d(x, params.conv.filters, stride, padding), params.conv.bias) as tf.Tensor4D;
  out = tf.add(tf.mul(out, params.scale.weights), params.scale.biases);
  return relu ? tf.relu(out) : out;
}

const conv = (x: tf.Tensor4D, p: ConvLayerParams) => convLayer(x, p, 1, true, 'same');
const convNoRelu = (x: tf.Tensor4D, p: ConvLayerParams) => convLayer(x, p, 1, false, 'same');
const convDown = (x: tf.Tensor4D, p: ConvLayerParams) => convLayer(x, p, 2, true, 'valid');

function residual(x: tf.Tensor4D, p: ResidualParams): tf.Tensor4D {
  const out = convNoRelu(conv(x, p.conv1), p.conv2);
  return tf.relu(tf.add(out, x)) as tf.Tensor4D;
}

// Mirrors face-api's residualDown: the shortcut is a 2×2 average pool, zero-padded in channels (and
// by one row/column when the strided conv's output is larger).
function residualDown(x: tf.Tensor4D, p: ResidualParams): tf.Tensor4D {
  let out = convNoRelu(convDown(x, p.conv1), p.conv2);
  let pooled = tf.avgPool(x, 2, 2, 'valid') as tf.Tensor4D;
  if (pooled.shape[1] !== out.shape[1] || pooled.shape[2] !== out.shape[2]) {
    out = tf.pad(out, [
      [0, 0],
      [0, 1],
      [0, 1],
      [0, 0],
    ]);
  }
  if (pooled.shape[3] !== out.shape[3]) {
    pooled = tf.pad(pooled, [
      [0, 0],
      [0, 0],
      [0, 0],
      [0, out.shape[3] - pooled.shape[3]],
    ]);
  }
  return tf.relu(tf.add(pooled, out)) as tf.Tensor4D;
}

/** Euclidean distance between descriptors (face-api's threshold for "same person" is 0.6). */
export function descriptorDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new ShapeError(`descriptorDistance: lengths differ (${a.length} vs ${b.length})`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}
