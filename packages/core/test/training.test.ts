import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ageToGroup } from '../src/config/age-groups.js';
import { groupTarget } from '../src/models/targets.js';
import { l1Loss } from '../src/losses/index.js';
import { createRagan, type RaganModel } from '../src/ragan.js';
import { GanTrainer } from '../src/training/gan-trainer.js';
import { wasmWinogradCalls } from '@ragan/backend';
import { describeBackends } from './helpers.js';
import { ellipseMask, loadFaces } from '@ragan/test-utils/faces';

describeBackends(['wasm'], 'tiny RAGAN training on real faces', () => {
  let model: RaganModel;
  let faces: Awaited<ReturnType<typeof loadFaces>>;
  let masks: tf.Tensor4D;

  beforeAll(async () => {
    faces = await loadFaces(4, 64, (age) => age >= 20 && age <= 60);
    masks = ellipseMask(4, 64);
    model = createRagan('tiny', { seed: 3 });
  });

  afterAll(() => {
    model.dispose();
    tf.dispose([faces.images, masks]);
  });

  /** Reconstruction L1 of G(x, m, y) in training mode (batch statistics), statistics discarded. */
  const recLoss = (groups: number[]): number => {
    const v = tf.tidy(() => {
      const y = groupTarget(groups, 10);
      return l1Loss(model.generator.apply(faces.images, masks, y, { training: true }), faces.images);
    });
    model.generator.clearBatchStats();
    const out = v.dataSync()[0]!;
    v.dispose();
    return out;
  };

  it('50 steps lower the reconstruction loss, every step finite, no tensors leak per step', async () => {
    const groups = faces.ages.map((a) => ageToGroup(a));
    const trainer = new GanTrainer({ ...model, numGroups: 10, seed: 7, r1Every: 4 });
    const before = recLoss(groups);
    wasmWinogradCalls(true);
    const counts: number[] = [];
    let r1Steps = 0;
    for (let i = 0; i < 50; i++) {
      const r = trainer.trainStep({ images: faces.images, masks, groups });
      expect(r.discarded, `step ${i} discarded: ${JSON.stringify(r.losses)}`).toBe(false);
      for (const [k, v] of Object.entries(r.losses)) expect(Number.isFinite(v), `${k} at step ${i}`).toBe(true);
      if (r.r1Applied) {
        r1Steps++;
        expect(r.losses.d_r1).toBeGreaterThanOrEqual(0);
      }
      counts.push(tf.memory().numTensors);
      // let vitest's worker talk to the main process between the (synchronous) steps
      await new Promise((resolve) => setImmediate(resolve));
    }
    const after = recLoss(groups);
    expect(r1Steps).toBe(13);
    // the bigger layers' convolutions and both their gradients ran by Winograd (wasm-winograd.ts)
    const wino = wasmWinogradCalls();
    expect(wino.winograd * wino.filterGrad * wino.inputGrad).toBeGreaterThan(0);
    expect(after).toBeLessThan(before * 0.8);
    // tensors allocated by the first steps (optimizer state) stay; later steps add none
    expect(counts[49]).toBe(counts[9]);
    trainer.dispose();
  }, 900_000);
});
