import * as tf from '@tensorflow/tfjs';
import { checkRgbImage, type RgbImage } from '@ragan/core';

// The image and point types and their check live in @ragan/core's geometry (shared with the browser).
export { checkRgbImage, type RgbImage, type Point2, type FaceBox } from '@ragan/core';

/** A new int32 `[H, W, 3]` tensor of the image's pixels (0..255). The caller disposes it. */
export function rgbToTensor(image: RgbImage): tf.Tensor3D {
  checkRgbImage(image);
  return tf.tensor3d(Int32Array.from(image.data), [image.height, image.width, 3], 'int32');
}

// One grey pad for the detectors (browser-safe, in core beside BlazeFace's decoding).
export { padGrey } from '@ragan/core';
