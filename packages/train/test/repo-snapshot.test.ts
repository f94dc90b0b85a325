import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@ragan/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadLatestCheckpoint } from '../src/checkpoint/checkpoint.js';
import { resolveTrainConfig } from '../src/config/schema.js';

// The compact snapshot of the long 128² run that the repository carries (README: "Continue the
// project's training run"): a fresh clone must be able to resume from it.
const SNAPSHOT = join(import.meta.dirname, '..', '..', '..', 'training', 'snapshot');

describe("the repository's training snapshot", () => {
  beforeAll(async () => {
    await initBackend({ backend: 'cpu', quiet: true });
  });

  it('validates and loads: its config, every checksum and shape, Adam moments with m all zero and v ≥ 0', async () => {
    const steps = readdirSync(join(SNAPSHOT, 'checkpoints'));
    expect(steps).toHaveLength(1);
    // as `ragan train --resume` reads it: the stored resolved model is derived again
    const { resolvedModel: _m, ...input } = JSON.parse(readFileSync(join(SNAPSHOT, 'config.json'), 'utf8')) as Record<string, unknown>;
    const config = resolveTrainConfig(input);
    expect(config.preset).toBe('small');
    expect(config).not.toHaveProperty('data'); // a path of the machine that made it
    const before = tf.memory().numTensors;
    const ck = await loadLatestCheckpoint(SNAPSHOT);
    try {
      expect(ck).toBeDefined();
      expect(ck!.skipped).toEqual([]);
      expect(`step-${ck!.step}`).toBe(steps[0]);
      expect(ck!.model.config.resolution).toBe(128);
      for (const bag of [ck!.gOpt, ck!.dOpt]) {
        const names = [...bag.toMap().keys()];
        expect(names.filter((n) => n.startsWith('m/')).length).toBe(names.filter((n) => n.startsWith('v/')).length);
        for (const [name, t] of bag.toMap()) {
          const stats = tf.tidy(() => [tf.min(t), tf.max(t)].map((x) => x.dataSync()[0]!));
          if (name.startsWith('m/')) expect(stats).toEqual([0, 0]);
          else expect(stats[0]).toBeGreaterThanOrEqual(0);
        }
      }
    } finally {
      ck?.model.dispose();
      ck?.gOpt.dispose();
      ck?.dOpt.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  }, 300_000);
});
