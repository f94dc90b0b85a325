import * as tf from '@tensorflow/tfjs';
import { createGenerator, exportGenerator, memoryStore, resolveModelConfig, sha256Hex } from '@ragan/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { identityBaseline, isBaselineName, loadEvalModel, modelFolderSha256, randomBaseline } from './models.js';

describe('models under evaluation', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('baselines: identity returns a copy; names are recognised', async () => {
    const m = identityBaseline();
    const x = tf.ones([1, 4, 4, 3]) as tf.Tensor4D;
    const y = await m.generate(x, x, 3);
    expect(y).not.toBe(x);
    expect(y.arraySync()).toEqual(x.arraySync());
    tf.dispose([x, y]);
    expect(isBaselineName('random')).toBe(true);
    expect(isBaselineName('./random')).toBe(false);
  });

  it('a model folder loads its generator; its sha256 covers manifest.json and every weight file', async () => {
    const config = resolveModelConfig({ preset: 'tiny', resolution: 16 });
    const g = createGenerator(config, { seed: 3 });
    const store = memoryStore();
    await exportGenerator(store, g, { extra: { step: 42 } });
    const m = await loadEvalModel(store, { name: 'tiny-test' });
    const manual = new Uint8Array([...store.files.get('manifest.json')!, ...store.files.get('generator.bin')!]);
    expect(m.sha256).toBe(await sha256Hex(manual));
    expect(m).toMatchObject({ name: 'tiny-test', kind: 'model', resolution: 16, ageGroups: 'ffhq-aging-10' });
    expect(m.details).toMatchObject({ module: 'generator', step: 42 });
    // Same weights as the seeded random baseline → same outputs.
    const r = randomBaseline({ seed: 3, resolution: 16 });
    const x = tf.randomUniform([1, 16, 16, 3], -1, 1, 'float32', 5) as tf.Tensor4D;
    const mask = tf.ones([1, 16, 16, 1]) as tf.Tensor4D;
    const [a, b] = [await m.generate(x, mask, 9), await r.generate(x, mask, 9)];
    expect(m.generator).toBeDefined();
    expect(Array.from(await a.data())).toEqual(Array.from(await b.data()));
    tf.dispose([x, mask, a, b]);
    m.dispose();
    r.dispose();
    g.dispose();

    // A changed weight file changes the hash (and the loader refuses it).
    const bin = store.files.get('generator.bin')!;
    bin[0] = bin[0]! ^ 1;
    expect(await modelFolderSha256(store)).not.toBe(m.sha256);
    await expect(loadEvalModel(store)).rejects.toThrow(/sha256 mismatch/);
  });

  it('a folder without a model is refused with its name', async () => {
    await expect(loadEvalModel(memoryStore())).rejects.toThrow(/manifest\.json/);
  });
});
