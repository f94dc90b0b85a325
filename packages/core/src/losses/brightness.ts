import * as tf from '@tensorflow/tfjs';
import { ConfigError, ShapeError } from '../errors/index.js';

/** How far (in the [-1, 1] range) the blurred brightness may move before `brightnessLoss` charges for it. */
export const BRIGHTNESS_MARGIN = 0.25;

/**
 * Brightness-cue loss [ours]: inside the face mask (weighted by it), the mean of the part of the
 * brightness change (BT.601 luma) beyond `margin`, after a `pool`×`pool` box blur. Wrinkles, pores and
 * other fine texture average out under the blur and small shifts of tone are free; what it charges for is
 * painting a region much darker or brighter, the cue the 128² run used to move a frozen age classifier
 * (black holes for eyes and mouth at young targets). Images `[N, H, W, 3]` in [-1, 1], mask
 * `[N, H, W, 1]` in [0, 1]; H and W divisible by `pool`. A mask with no face gives 0.
 */
export function brightnessLoss(generated: tf.Tensor4D, source: tf.Tensor4D, mask: tf.Tensor4D, pool = 4, margin = BRIGHTNESS_MARGIN): tf.Scalar {
  const [n, h, w, c] = generated.shape;
  if (source.shape.join() !== generated.shape.join())
    throw new ShapeError(`brightnessLoss: shapes ${JSON.stringify(generated.shape)} and ${JSON.stringify(source.shape)} differ`);
  if (c !== 3 || mask.shape.join() !== [n, h, w, 1].join())
    throw new ShapeError(
      `brightnessLoss: images must be [N,H,W,3] with a [N,H,W,1] mask, got ${JSON.stringify(generated.shape)} and ${JSON.stringify(mask.shape)}`,
    );
  if (!(Number.isInteger(pool) && pool >= 1 && h % pool === 0 && w % pool === 0)) throw new ShapeError(`brightnessLoss: pool ${pool} must divide ${h}×${w}`);
  if (!(Number.isFinite(margin) && margin >= 0)) throw new ConfigError('brightnessLoss.margin', `${margin} must be a number ≥ 0`);
  return tf.tidy(() => {
    const m = tf.tensor2d([[0.299], [0.587], [0.114]]);
    const luma = (x: tf.Tensor4D) => tf.avgPool(tf.reshape(tf.matMul(tf.reshape(x, [-1, 3]), m), [n, h, w, 1]) as tf.Tensor4D, pool, pool, 'valid');
    const weight = tf.avgPool(mask, pool, pool, 'valid');
    const excess = tf.relu(tf.sub(tf.abs(tf.sub(luma(generated), luma(source))), margin));
    return tf.div(tf.sum(tf.mul(excess, weight)), tf.add(tf.sum(weight), 1e-6)) as tf.Scalar;
  });
}
