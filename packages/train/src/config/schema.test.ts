import { describe, expect, it } from 'vitest';
import { ConfigError, PRESETS } from '@ragan/core';
import { resolveTrainConfig } from './schema.js';

describe('resolveTrainConfig', () => {
  it('fills the spec defaults', () => {
    const c = resolveTrainConfig({});
    expect(c.optimizer).toEqual({ lr: 1e-3, beta1: 0, beta2: 0.99, styleLrMultiplier: 0.01 });
    expect(c.losses).toEqual({ adv: 1, age: 1, rec: 10, cyc: 10, idFeature: 1, idNetwork: 1, chroma: 0, brightness: 0 });
    expect(c.r1.gamma).toBe(10);
    expect(c.emaDecay).toBe(0.999);
    expect(c.resolvedModel).toEqual(PRESETS.tiny);
  });

  it('applies preset and model overrides', () => {
    const c = resolveTrainConfig({ preset: 'small', model: { c0: 8 } });
    expect(c.resolvedModel.resolution).toBe(128);
    expect(c.resolvedModel.c0).toBe(8);
  });

  it('names the bad field', () => {
    const cases: Array<[unknown, string]> = [
      [{ batch: 0 }, 'batch'],
      [{ losses: { rec: -1 } }, 'losses.rec'],
      [{ optimizer: { lr: 'fast' } }, 'optimizer.lr'],
      [{ stpes: 10 }, '(root)'],
      [{ preset: 'huge' }, 'preset'],
      [{ model: { resolution: 100 } }, 'model.resolution'],
      [{ model: { colour: 1 } }, 'model.colour'],
    ];
    for (const [input, field] of cases) {
      let err: unknown;
      try {
        resolveTrainConfig(input);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(input)).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).field, JSON.stringify(input)).toBe(field);
    }
  });
});
