import { describe, expect, it } from 'vitest';
import { autoOrder, isSoftwareRenderer, parseBackendParam } from './backends.js';

describe('backend choice', () => {
  it('parses ?backend=', () => {
    expect(parseBackendParam('wasm')).toBe('wasm');
    expect(parseBackendParam('webgl')).toBe('webgl');
    expect(parseBackendParam(null)).toBe('auto');
    expect(parseBackendParam('tensorflow')).toBe('auto');
  });

  it('puts WebGL on a software renderer behind wasm', () => {
    expect(isSoftwareRenderer('ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero)), SwiftShader driver)')).toBe(true);
    expect(isSoftwareRenderer('llvmpipe (LLVM 15.0.6, 256 bits)')).toBe(true);
    expect(isSoftwareRenderer('ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 Direct3D11 vs_5_0 ps_5_0)')).toBe(false);
    expect(autoOrder(false)).toEqual(['webgpu', 'webgl', 'wasm', 'cpu']);
    expect(autoOrder(true)).toEqual(['webgpu', 'wasm', 'webgl', 'cpu']);
  });
});
