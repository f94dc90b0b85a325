import * as tf from '@tensorflow/tfjs';
import { checkRgbImage, type RgbImage } from '@ragan/core';

// The image and point types and their check live in @ragan/core's geometry (shared with the browser).
export { checkRgbImage, type RgbImage, type Point2, type FaceBox } from '@ragan/core';

/** A new int32 `[H, W, 3]` tensor of the image's pixels (0..255). The caller disposes it. */
export function rgbToTensor(image: RgbImage): tf.Tensor3D {
  checkRgbImage(image);
  return tf.tensor3d(Int32Array.from(image.data), [image.height, image.width, 3], 'int32');
}

/**
 * The image tensor with `pad` pixels of constant grey (128) on every side (a new tensor; the caller
 * disposes both). Grey, not mirrored: a mirrored border holds mirrored faces, which detectors find.
 */
export function padGrey(input: tf.Tensor3D, pad: number): tf.Tensor3D {
  return tf.pad(
    input,
    [
      [pad, pad],
      [pad, pad],
      [0, 0],
    ],
    128,
  );
}
