import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { UTKFACE_ALIGN, initBackend, reage } from '@ragan/core';
import { UTKFACE_MODEL_NAME, loadUtkfaceGenerator, utkfaceModelDir, utkfaceModelUrl } from './index.js';

describe('@ragan/model-utkface/node', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'cpu', quiet: true });
  });

  it('finds the package folder model/ from the module, as a path and as a URL', () => {
    const dir = utkfaceModelDir();
    expect(dir).toMatch(/[/\\]model-utkface[/\\]model$/);
    expect(existsSync(join(dir, 'manifest.json'))).toBe(true);
    expect(utkfaceModelUrl().href).toBe(`${pathToFileURL(dir).href}/`);
    expect(UTKFACE_MODEL_NAME).toBe('utkface-tiny');
  });

  // The README's Node example, in process: load through the package, re-age, dispose everything.
  it('loads the generator, re-ages a face to 75 within [-1, 1], and leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    const { generator, manifest } = await loadUtkfaceGenerator();
    try {
      expect(manifest.modules).toEqual(['generator']);
      expect(generator.config.resolution).toBe(64);
      expect(generator.config.alignment).toEqual(UTKFACE_ALIGN);
      const face = tf.randomUniform([2, 64, 64, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
      const mask = tf.ones([2, 64, 64, 1]) as tf.Tensor4D;
      const aged = reage(generator, face, mask, { age: 75 });
      try {
        expect(aged.shape).toEqual([2, 64, 64, 3]);
        const px = await aged.data();
        let lo = Infinity;
        let hi = -Infinity;
        for (const v of px) {
          expect(Number.isFinite(v)).toBe(true);
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
        expect(lo).toBeGreaterThanOrEqual(-1);
        expect(hi).toBeLessThanOrEqual(1);
        expect(hi - lo).toBeGreaterThan(0.1); // an image, not a constant
      } finally {
        tf.dispose([face, mask, aged]);
      }
    } finally {
      generator.dispose();
    }
    expect(tf.memory().numTensors - before, 'tensors left after disposing').toBe(0);
  });
});
