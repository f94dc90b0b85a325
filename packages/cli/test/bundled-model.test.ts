import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { UTKFACE_ALIGN, initBackend, loadGenerator, reage } from '@ragan/core';
import { fsStore } from '@ragan/core/node';
import * as tf from '@tensorflow/tfjs';
import { UTKFACE_MODEL_NAME, utkfaceModelDir } from '@ragan/model-utkface/node';
import { BUNDLED_MODEL_NAME, bundledModelDir, cliPackageDir } from '../src/bundled-model.js';

// The CLI's default model comes from its dependency @ragan/model-utkface: these tests fail (not skip)
// when it is missing or incomplete.
const dir = utkfaceModelDir();

describe(`the bundled model (${BUNDLED_MODEL_NAME}, from @ragan/model-utkface)`, () => {
  beforeAll(async () => {
    await initBackend({ backend: 'cpu', quiet: true });
  });

  it('is found in @ragan/model-utkface (not in this package), with its model card, licence and sample grid, under 40 MB in all', () => {
    expect(BUNDLED_MODEL_NAME).toBe(UTKFACE_MODEL_NAME);
    expect(bundledModelDir()).toBe(dir);
    expect(dir).toMatch(/[/\\]model-utkface[/\\]model$/);
    const cliPkg = JSON.parse(readFileSync(join(cliPackageDir(), 'package.json'), 'utf8')) as { files: string[]; dependencies: Record<string, string> };
    expect(cliPkg.dependencies['@ragan/model-utkface']).toBe('workspace:^');
    expect(cliPkg.files).not.toContain('models');
    const files = readdirSync(dir).sort();
    for (const f of ['LICENSE', 'MODEL_CARD.md', 'manifest.json', 'generator.bin', 'sample-grid.png']) expect(files).toContain(f);
    const bytes = files.reduce((s, f) => s + statSync(join(dir, f)).size, 0);
    expect(bytes).toBeLessThan(40e6);
    expect(readFileSync(join(dir, 'LICENSE'), 'utf8')).toMatch(/non-commercial/i);
    expect(readFileSync(join(dir, 'MODEL_CARD.md'), 'utf8')).toMatch(/non-commercial research use only/i);
  });

  it('loads (checksums verified), crops the UTKFace way, states its data and licence, and re-ages without NaN', async () => {
    const { generator, manifest } = await loadGenerator(fsStore(dir));
    try {
      expect(manifest.modules).toEqual(['generator']);
      expect(generator.config.alignment).toEqual(UTKFACE_ALIGN);
      const meta = manifest.extra?.meta as Record<string, string>;
      expect(meta.trainedOn).toMatch(/UTKFace/);
      expect(meta.licence).toMatch(/non-commercial/i);
      expect(manifest.extra?.untrained).toBeUndefined();
      const res = generator.config.resolution;
      tf.tidy(() => {
        const x = tf.randomUniform([1, res, res, 3], -1, 1, 'float32', 5) as tf.Tensor4D;
        const y = reage(generator, x, tf.ones([1, res, res, 1]) as tf.Tensor4D, { age: 75 });
        expect(y.shape).toEqual([1, res, res, 3]);
        expect(Number.isFinite(tf.sum(y).dataSync()[0]!)).toBe(true);
      });
    } finally {
      generator.dispose();
    }
  });
});
