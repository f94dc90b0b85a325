import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { memoryStore } from './io/store.js';
import { groupTarget } from './models/targets.js';
import { createRagan, exportGenerator, loadGenerator, loadRaganModel, saveRaganModel } from './ragan.js';
import { expectTensorsClose } from '@ragan/test-utils/tensors';

describe('RaganModel folders', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('save → load of all four networks gives identical outputs; export keeps the EMA generator only', async () => {
    const model = createRagan({ preset: 'tiny', resolution: 16 }, { seed: 4 });
    // make the EMA differ from G so that the right one is exported
    for (const w of model.emaGenerator.weights()) w.variable.assign(tf.tidy(() => tf.add(w.variable, 0.01)));
    const x = tf.randomUniform([2, 16, 16, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
    const m = tf.ones([2, 16, 16, 1]) as tf.Tensor4D;
    const y = groupTarget([2, 9], 10);
    const store = memoryStore();
    await saveRaganModel(store, model, { extra: { step: 7 } });
    const { model: loaded, manifest } = await loadRaganModel(store);
    expect(manifest.extra).toEqual({ step: 7 });
    expect(manifest.modules).toEqual(['generator', 'discriminator', 'classifier', 'ema_generator']);
    tf.tidy(() => {
      expectTensorsClose(loaded.generator.apply(x, m, y), model.generator.apply(x, m, y), 0);
      expectTensorsClose(loaded.emaGenerator.apply(x, m, y), model.emaGenerator.apply(x, m, y), 0);
      expectTensorsClose(loaded.discriminator.apply(x), model.discriminator.apply(x), 0);
      expectTensorsClose(loaded.classifier.apply(x), model.classifier.apply(x), 0);
    });

    const web = memoryStore();
    await exportGenerator(web, model.emaGenerator);
    const { generator } = await loadGenerator(web);
    expect(generator.weights()[0]!.name.startsWith('generator/')).toBe(true);
    tf.tidy(() => expectTensorsClose(generator.apply(x, m, y), model.emaGenerator.apply(x, m, y), 0));
    // float16 storage halves the size; outputs move by rounding only (whether that is small enough for a
    // trained model is checked when it ships)
    const half = memoryStore();
    await exportGenerator(half, model.emaGenerator, { dtype: 'float16' });
    expect(half.files.get('generator.bin')!.byteLength * 2).toBe(web.files.get('generator.bin')!.byteLength);
    const g16 = (await loadGenerator(half)).generator;
    const meanErr = tf.tidy(() => tf.mean(tf.abs(tf.sub(g16.apply(x, m, y), model.emaGenerator.apply(x, m, y)))).dataSync()[0]!);
    expect(meanErr).toBeLessThan(1e-2);
    g16.dispose();
    // loadGenerator on a full checkpoint picks the EMA generator
    const fromCkpt = await loadGenerator(store);
    tf.tidy(() => expectTensorsClose(fromCkpt.generator.apply(x, m, y), model.emaGenerator.apply(x, m, y), 0));

    [model, loaded].forEach((r) => r.dispose());
    generator.dispose();
    fromCkpt.generator.dispose();
    tf.dispose([x, m, y]);
  });
});
