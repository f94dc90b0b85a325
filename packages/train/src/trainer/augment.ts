import * as tf from '@tensorflow/tfjs';
import { type Rng, shiftImages } from '@ragan/core';

/**
 * Photometric and geometric corruptions for training the auxiliary age classifier (ragan train-classifier
 * --robust). A classifier trained on clean faces only reads thin stripes, colour casts and noise as age
 * cues, and a generator trained against it learns to draw them (docs/training-notes.md). Each image of a
 * batch gets its own random draw of every corruption; images stay in [-1, 1].
 */
export interface ClassifierAugment {
  /** Largest shift in pixels, each axis (edges repeat). Default: 1/16 of the side. */
  maxShift?: number;
  /** Largest brightness offset (in [-1, 1] units). Default 0.15. */
  brightness?: number;
  /** Contrast and saturation factors are drawn from [1 - this, 1 + this]. Default 0.3. */
  contrast?: number;
  /** Probability of a [1 2 1]² blur. Default 0.3. */
  blur?: number;
  /** Gaussian noise σ drawn from [0, this]. Default 0.08. */
  noise?: number;
  /** Probability of horizontal stripes (a random offset per row and colour, σ up to 0.15). Default 0.3. */
  stripes?: number;
}

export const DEFAULT_CLASSIFIER_AUGMENT: Required<Omit<ClassifierAugment, 'maxShift'>> = {
  brightness: 0.15,
  contrast: 0.3,
  blur: 0.3,
  noise: 0.08,
  stripes: 0.3,
};

/** A new tensor: `x` with the corruptions drawn from `rng`. The caller disposes it; `x` is kept. */
export function augmentForClassifier(x: tf.Tensor4D, rng: Rng, options: ClassifierAugment = {}): tf.Tensor4D {
  const o = { ...DEFAULT_CLASSIFIER_AUGMENT, ...options };
  const [n, h, w] = x.shape;
  const maxShift = options.maxShift ?? Math.max(1, Math.round(h / 16));
  const u = () => rng.next();
  const range = (a: number) => (2 * u() - 1) * a;
  const dy = Array.from({ length: n }, () => Math.round(range(maxShift)));
  const dx = Array.from({ length: n }, () => Math.round(range(maxShift)));
  const bright = Array.from({ length: n }, () => range(o.brightness));
  const contrast = Array.from({ length: n }, () => 1 + range(o.contrast));
  const sat = Array.from({ length: n }, () => 1 + range(o.contrast));
  const blur = Array.from({ length: n }, () => (u() < o.blur ? 1 : 0));
  const noise = Array.from({ length: n }, () => u() * o.noise);
  const stripes = Array.from({ length: n }, () => (u() < o.stripes ? u() * 0.15 : 0));
  const seed = Math.floor(u() * 2 ** 31);
  return tf.tidy(() => {
    let y: tf.Tensor4D = shiftImages(x, dy, dx);
    const col = (v: number[]) => tf.tensor4d(v, [n, 1, 1, 1]);
    // saturation about each pixel's grey, contrast about the image mean, then brightness
    const grey = tf.mean(y, 3, true);
    y = tf.add(grey, tf.mul(tf.sub(y, grey), col(sat)));
    const mean = tf.mean(y, [1, 2, 3], true);
    y = tf.add(tf.add(mean, tf.mul(tf.sub(y, mean), col(contrast))), col(bright));
    // [1 2 1]² blur on the chosen images (mid-grey beyond the border)
    if (blur.some((b) => b)) {
      const k1 = [1, 2, 1];
      const k = tf.tensor4d(
        k1.flatMap((a) => k1.map((b) => (a * b) / 16)),
        [3, 3, 1, 1],
      );
      const kernel = tf.tile(k, [1, 1, 3, 1]) as tf.Tensor4D;
      const padded = tf.pad(
        y,
        [
          [0, 0],
          [1, 1],
          [1, 1],
          [0, 0],
        ],
        0,
      );
      const blurred = tf.depthwiseConv2d(padded as tf.Tensor4D, kernel, 1, 'valid');
      const b = col(blur);
      y = tf.add(tf.mul(blurred, b), tf.mul(y, tf.sub(1, b)));
    }
    y = tf.add(y, tf.mul(tf.randomNormal([n, h, w, 3], 0, 1, 'float32', seed), col(noise)));
    y = tf.add(y, tf.mul(tf.randomNormal([n, h, 1, 3], 0, 1, 'float32', seed + 1), col(stripes)));
    return tf.clipByValue(y, -1, 1) as tf.Tensor4D;
  });
}

/**
 * Projected gradient ascent on the classifier's loss within an L∞ ball of radius `eps` around `x`
 * (Madry et al. 2018), from a random start: the adversarial examples that robust training fits. Returns
 * a new tensor in [-1, 1]; the caller disposes it.
 */
export function pgdAttack(
  loss: (x: tf.Tensor4D) => tf.Scalar,
  x: tf.Tensor4D,
  opts: { eps: number; steps: number; stepSize?: number; seed?: number },
): tf.Tensor4D {
  const stepSize = opts.stepSize ?? (2.5 * opts.eps) / Math.max(1, opts.steps);
  const grad = tf.grad((xx: tf.Tensor) => loss(xx as tf.Tensor4D));
  let adv = tf.tidy(() => tf.clipByValue(tf.add(x, tf.randomUniform(x.shape, -opts.eps, opts.eps, 'float32', opts.seed ?? 0)), -1, 1) as tf.Tensor4D);
  for (let s = 0; s < opts.steps; s++) {
    const next = tf.tidy(() => {
      const g = grad(adv);
      const stepped = tf.add(adv, tf.mul(tf.sign(g), stepSize));
      const projected = tf.add(x, tf.clipByValue(tf.sub(stepped, x), -opts.eps, opts.eps));
      return tf.clipByValue(projected, -1, 1) as tf.Tensor4D;
    });
    adv.dispose();
    adv = next;
  }
  return adv;
}
