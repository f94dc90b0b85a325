import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveModelConfig, type ModelConfig } from '../config/presets.js';
import type { Module } from '../layers/module.js';
import { createAgeClassifier, createDiscriminator, createGenerator, groupTarget, type Generator } from '../models/index.js';
import { loadModelFolder, saveModelFolder } from './model-folder.js';
import { memoryStore } from './store.js';

const config = resolveModelConfig({ preset: 'tiny', resolution: 16, c0: 4, cMax: 8, styleDim: 8, dC0: 4, clsC0: 4 });

const create = (c: ModelConfig, names: readonly string[]): Record<string, Module> => {
  const all: Record<string, () => Module> = {
    generator: () => createGenerator(c, { seed: 99 }),
    discriminator: () => createDiscriminator(c, { seed: 99 }),
    classifier: () => createAgeClassifier(c, { seed: 99 }),
  };
  return Object.fromEntries(names.map((n) => [n, all[n]!()]));
};

describe('model folder with the real models', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('a tiny generator saved and loaded gives identical outputs (float32) and close ones (float16)', async () => {
    const before = tf.memory().numTensors;
    const gen = createGenerator(config, { seed: 1 });
    // Non-trivial moving statistics, so the non-trainable CBN weights are exercised too.
    for (const w of gen.weights().filter((x) => !x.trainable)) {
      const v = tf.randomUniform(w.variable.shape, 0.5, 1.5, 'float32', 3);
      w.variable.assign(v);
      v.dispose();
    }
    const modules = { generator: gen, discriminator: createDiscriminator(config, { seed: 1 }), classifier: createAgeClassifier(config, { seed: 1 }) };
    const x = tf.randomUniform([2, 16, 16, 3], -1, 1, 'float32', 5) as tf.Tensor4D;
    const mask = tf.ones([2, 16, 16, 1]) as tf.Tensor4D;
    const target = groupTarget([1, 8], 10);
    const expected = gen.apply(x, mask, target);

    for (const dtype of ['float32', 'float16'] as const) {
      const store = memoryStore();
      const manifest = await saveModelFolder(store, { config, modules, packageVersion: '0.1.0', dtype, extra: { step: 3 } });
      expect(manifest.modules).toEqual(['generator', 'discriminator', 'classifier']);
      const loaded = await loadModelFolder(store, { create, modules: ['generator'] });
      expect(Object.keys(loaded.modules)).toEqual(['generator']);
      const out = (loaded.modules.generator as Generator).apply(x, mask, target);
      const maxDiff = tf.tidy(() => tf.max(tf.abs(tf.sub(out, expected))).dataSync()[0]!);
      if (dtype === 'float32') expect(maxDiff).toBe(0);
      else expect(maxDiff).toBeLessThan(2e-2);
      out.dispose();
      for (const m of Object.values(loaded.modules)) m.dispose();

      const all = await loadModelFolder(store, { create });
      for (const [k, m] of Object.entries(modules)) {
        const want = new Map(m.weights().map((w) => [w.name, w.variable]));
        for (const w of all.modules[k]!.weights()) {
          const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(w.variable, want.get(w.name)!))).dataSync()[0] ?? 0);
          expect(diff, w.name).toBeLessThanOrEqual(dtype === 'float32' ? 0 : 1e-3 * 4);
        }
      }
      for (const m of Object.values(all.modules)) m.dispose();
    }
    tf.dispose([x, mask, target, expected]);
    for (const m of Object.values(modules)) m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
