import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/index.js';
import { UTKFACE_ALIGN } from '../geometry/ffhq.js';
import { PRESETS, resolveModelConfig } from './presets.js';

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.field;
    throw e;
  }
  return undefined;
}

describe('resolveModelConfig alignment', () => {
  it('is absent unless given, so presets and old manifests are unchanged', () => {
    expect(resolveModelConfig('tiny')).toEqual(PRESETS.tiny);
    expect('alignment' in resolveModelConfig({ preset: 'small', alignment: undefined })).toBe(false);
  });

  it('keeps a valid framing', () => {
    expect(resolveModelConfig({ preset: 'tiny', alignment: UTKFACE_ALIGN }).alignment).toEqual(UTKFACE_ALIGN);
  });

  it('names the bad alignment field', () => {
    const bad = (a: unknown) => fieldOf(() => resolveModelConfig({ preset: 'tiny', alignment: a as never }));
    expect(bad('utkface')).toBe('alignment');
    expect(bad({ ...UTKFACE_ALIGN, eyeToEyeScale: 0 })).toBe('alignment.eyeToEyeScale');
    expect(bad({ eyeToEyeScale: 1.3, eyeToMouthScale: 1.2 })).toBe('alignment.centreShift');
    expect(bad({ ...UTKFACE_ALIGN, zoom: 2 })).toBe('alignment.zoom');
    expect(bad(JSON.parse(`{"eyeToEyeScale":1.3,"eyeToMouthScale":1.2,"centreShift":0.5,"constructor":1}`))).toBe('alignment.constructor');
  });
});
