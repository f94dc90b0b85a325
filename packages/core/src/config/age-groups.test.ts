import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, RaganError } from '../errors/index.js';
import { VERSION } from '../version.js';
import { ageToGroup, ageToGroupWeights, FFHQ_AGING_GROUPS, LATS_GROUPS, parseGroup } from './age-groups.js';
import { PRESETS, resolveModelConfig } from './presets.js';

describe('age groups', () => {
  it('bins exact ages into FFHQ-Aging groups, and into the nearest LATS group across its gaps', () => {
    expect([0, 2, 3, 9, 10, 19, 20, 29, 45, 69, 70, 110].map((a) => ageToGroup(a))).toEqual([0, 0, 1, 2, 3, 4, 5, 5, 7, 8, 9, 9]);
    expect([12, 22, 28, 45, 80].map((a) => LATS_GROUPS.groups[ageToGroup(a, LATS_GROUPS)]!.label)).toEqual(['7-9', '15-19', '30-39', '50-69', '50-69']);
    expect(() => ageToGroup(-1)).toThrow(ConfigError);
  });

  it('blends the two neighbouring groups for a continuous age', () => {
    const w = ageToGroupWeights(39.5);
    expect(w[6]).toBeCloseTo(0.5);
    expect(w[7]).toBeCloseTo(0.5);
    expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    expect(ageToGroupWeights(0)[0]).toBe(1);
    expect(ageToGroupWeights(100)[9]).toBe(1);
    for (let a = 0; a < 100; a += 0.7) {
      const v = ageToGroupWeights(a);
      expect(v.filter((x) => x > 0).length).toBeLessThanOrEqual(2);
      expect(v.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 10);
    }
  });

  it('parses groups by label or index and names the valid ones otherwise', () => {
    expect(parseGroup('70+')).toBe(9);
    expect(parseGroup('3')).toBe(3);
    expect(() => parseGroup('70-120')).toThrow(/0-2, 3-6/);
    expect(FFHQ_AGING_GROUPS.groups).toHaveLength(10);
  });
});

describe('model config', () => {
  it('presets follow the spec table', () => {
    expect(PRESETS.paper).toMatchObject({ resolution: 256, c0: 64, cMax: 256, nDown: 2, nIdBlocks: 4, nAmDown: 3, nDecBlocks: 4, styleDim: 256 });
    expect(PRESETS.small).toMatchObject({ resolution: 128, c0: 32, cMax: 128, nDown: 2, nIdBlocks: 2, nAmDown: 3, nDecBlocks: 2 });
    expect(PRESETS.tiny).toMatchObject({ resolution: 64, c0: 16, cMax: 64, nDown: 2, nIdBlocks: 1, nAmDown: 2, nDecBlocks: 1 });
  });

  it('names the bad field and refuses unknown ones', () => {
    const field = (input: Parameters<typeof resolveModelConfig>[0]) => {
      try {
        resolveModelConfig(input);
      } catch (e) {
        expect(RaganError.isInstance(e)).toBe(true);
        return (e as ConfigError).field;
      }
      return 'accepted';
    };
    expect(field({ resolution: 96 })).toBe('resolution');
    expect(field({ c0: 0 })).toBe('c0');
    expect(field({ leakySlope: 2 })).toBe('leakySlope');
    expect(field({ colour: 1 } as never)).toBe('colour');
    expect(field({ preset: 'huge' as never })).toBe('preset');
    expect(field({ preset: 'small', ageGroups: 'lats-6' })).toBe('accepted');
  });

  it('VERSION matches package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });
});
