import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors/index.js';

/** RGB → the two chroma channels of YCbCr (BT.601): a change of brightness alone (R, G, B moved alike) leaves both at 0. */
const CHROMA = [
  [-0.168736, 0.5],
  [-0.331264, -0.418688],
  [0.5, -0.081312],
];

/**
 * Colour-cue loss [ours]: the mean absolute difference of the two images' chroma (YCbCr Cb and Cr) after a
 * `pool`×`pool` box blur, inside the face mask (weighted by it). Brightness, texture and shape may change
 * freely; what it charges for is recolouring whole regions, the cue both 128² runs and the 64² probes
 * used to move a frozen age classifier (teal eyes and lips at young targets, orange at old ones). Images
 * `[N, H, W, 3]` in [-1, 1], mask `[N, H, W, 1]` in [0, 1]; H and W divisible by `pool`. A mask with no
 * face gives 0.
 */
export function chromaLoss(generated: tf.Tensor4D, source: tf.Tensor4D, mask: tf.Tensor4D, pool = 4): tf.Scalar {
  const [n, h, w, c] = generated.shape;
  if (source.shape.join() !== generated.shape.join())
    throw new ShapeError(`chromaLoss: shapes ${JSON.stringify(generated.shape)} and ${JSON.stringify(source.shape)} differ`);
  if (c !== 3 || mask.shape.join() !== [n, h, w, 1].join())
    throw new ShapeError(
      `chromaLoss: images must be [N,H,W,3] with a [N,H,W,1] mask, got ${JSON.stringify(generated.shape)} and ${JSON.stringify(mask.shape)}`,
    );
  if (!(Number.isInteger(pool) && pool >= 1 && h % pool === 0 && w % pool === 0)) throw new ShapeError(`chromaLoss: pool ${pool} must divide ${h}×${w}`);
  return tf.tidy(() => {
    const m = tf.tensor2d(CHROMA);
    const chroma = (x: tf.Tensor4D) => tf.avgPool(tf.reshape(tf.matMul(tf.reshape(x, [-1, 3]), m), [n, h, w, 2]) as tf.Tensor4D, pool, pool, 'valid');
    const weight = tf.avgPool(mask, pool, pool, 'valid');
    const diff = tf.sum(tf.mul(tf.abs(tf.sub(chroma(generated), chroma(source))), weight));
    return tf.div(diff, tf.add(tf.mul(tf.sum(weight), 2), 1e-6)) as tf.Scalar;
  });
}
