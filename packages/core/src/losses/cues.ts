import * as tf from '@tensorflow/tfjs';
import { ConfigError, ShapeError } from '../errors/index.js';

/**
 * Cue losses [ours] and the maps behind them: what changed in a face between the input `x` and the
 * re-aged `x'`, after a `pool`×`pool` box blur (fine texture such as wrinkles averages out), split into
 * brightness (BT.601 luma) and colour (YCbCr Cb and Cr). A frozen age classifier can be moved by painting
 * regions (teal or orange eyes, black holes for eyes and mouth); these terms charge for that, and the
 * evaluation's `cues` metric (@ragan/eval) measures it with the same maps.
 */

/** RGB → luma (BT.601). */
const LUMA = [[0.299], [0.587], [0.114]];
/** RGB → the two chroma channels of YCbCr (BT.601): a change of brightness alone (R, G, B moved alike) leaves both at 0. */
const CHROMA = [
  [-0.168736, 0.5],
  [-0.331264, -0.418688],
  [0.5, -0.081312],
];

/** How far (in the [-1, 1] range) the blurred brightness may move before `brightnessLoss` charges for it. */
export const BRIGHTNESS_MARGIN = 0.25;

export interface CueMaps {
  /** `|luma(blur(x')) − luma(blur(x))|`, `[N, H/pool, W/pool, 1]`. */
  luma: tf.Tensor4D;
  /** `|chroma(blur(x')) − chroma(blur(x))|` per channel (Cb, Cr), `[N, H/pool, W/pool, 2]`. */
  chroma: tf.Tensor4D;
  /** The face mask, blurred alike, `[N, H/pool, W/pool, 1]`: the weight of each cell. */
  weight: tf.Tensor4D;
}

/**
 * The blurred brightness and colour change of `generated` against `source` with the mask's weight per
 * cell. Images `[N, H, W, 3]` in [-1, 1], mask `[N, H, W, 1]` in [0, 1]; H and W divisible by `pool`.
 * The caller disposes the three maps.
 */
export function cueMaps(generated: tf.Tensor4D, source: tf.Tensor4D, mask: tf.Tensor4D, pool = 4, who = 'cueMaps'): CueMaps {
  const [n, h, w, c] = generated.shape;
  if (source.shape.join() !== generated.shape.join())
    throw new ShapeError(`${who}: shapes ${JSON.stringify(generated.shape)} and ${JSON.stringify(source.shape)} differ`);
  if (c !== 3 || mask.shape.join() !== [n, h, w, 1].join())
    throw new ShapeError(`${who}: images must be [N,H,W,3] with a [N,H,W,1] mask, got ${JSON.stringify(generated.shape)} and ${JSON.stringify(mask.shape)}`);
  if (!(Number.isInteger(pool) && pool >= 1 && h % pool === 0 && w % pool === 0)) throw new ShapeError(`${who}: pool ${pool} must divide ${h}×${w}`);
  return tf.tidy(() => {
    const project = (x: tf.Tensor4D, m: number[][]) =>
      tf.avgPool(tf.reshape(tf.matMul(tf.reshape(x, [-1, 3]), tf.tensor2d(m)), [n, h, w, m[0]!.length]) as tf.Tensor4D, pool, pool, 'valid');
    return {
      luma: tf.abs(tf.sub(project(generated, LUMA), project(source, LUMA))) as tf.Tensor4D,
      chroma: tf.abs(tf.sub(project(generated, CHROMA), project(source, CHROMA))) as tf.Tensor4D,
      weight: tf.avgPool(mask, pool, pool, 'valid'),
    };
  });
}

/**
 * Colour-cue loss [ours]: the mean absolute difference of the two images' chroma (YCbCr Cb and Cr) after a
 * `pool`×`pool` box blur, inside the face mask (weighted by it). Brightness, texture and shape may change
 * freely; what it charges for is recolouring whole regions, the cue both 128² runs and the 64² probes
 * used to move a frozen age classifier (teal eyes and lips at young targets, orange at old ones). Images
 * `[N, H, W, 3]` in [-1, 1], mask `[N, H, W, 1]` in [0, 1]; H and W divisible by `pool`. A mask with no
 * face gives 0.
 */
export function chromaLoss(generated: tf.Tensor4D, source: tf.Tensor4D, mask: tf.Tensor4D, pool = 4): tf.Scalar {
  const m = cueMaps(generated, source, mask, pool, 'chromaLoss');
  try {
    return tf.tidy(() => tf.div(tf.sum(tf.mul(m.chroma, m.weight)), tf.add(tf.mul(tf.sum(m.weight), 2), 1e-6)) as tf.Scalar);
  } finally {
    tf.dispose([m.luma, m.chroma, m.weight]);
  }
}

/**
 * Brightness-cue loss [ours]: inside the face mask (weighted by it), the mean of the part of the
 * brightness change (BT.601 luma) beyond `margin`, after a `pool`×`pool` box blur. Wrinkles, pores and
 * other fine texture average out under the blur and small shifts of tone are free; what it charges for is
 * painting a region much darker or brighter, the cue the 128² run used to move a frozen age classifier
 * (black holes for eyes and mouth at young targets). Images `[N, H, W, 3]` in [-1, 1], mask
 * `[N, H, W, 1]` in [0, 1]; H and W divisible by `pool`. A mask with no face gives 0.
 */
export function brightnessLoss(generated: tf.Tensor4D, source: tf.Tensor4D, mask: tf.Tensor4D, pool = 4, margin = BRIGHTNESS_MARGIN): tf.Scalar {
  if (!(Number.isFinite(margin) && margin >= 0)) throw new ConfigError('brightnessLoss.margin', `${margin} must be a number ≥ 0`);
  const m = cueMaps(generated, source, mask, pool, 'brightnessLoss');
  try {
    return tf.tidy(() => tf.div(tf.sum(tf.mul(tf.relu(tf.sub(m.luma, margin)), m.weight)), tf.add(tf.sum(m.weight), 1e-6)) as tf.Scalar);
  } finally {
    tf.dispose([m.luma, m.chroma, m.weight]);
  }
}
