/** The backend switch: which tfjs backends this page can offer, and switching between them. */
import { initBackend, type BackendInfo, type BackendName } from '@ragan/core';
import { loadWebGpu } from 'virtual:ragan-webgpu';

export type DemoBackend = Extract<BackendName, 'webgpu' | 'webgl' | 'wasm' | 'cpu'>;

/** Offered in this order; 'auto' picks the first available. */
export const DEMO_BACKENDS: readonly DemoBackend[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

export const BACKEND_LABELS: Record<DemoBackend, string> = {
  webgpu: 'WebGPU',
  webgl: 'WebGL',
  wasm: 'WebAssembly',
  cpu: 'CPU (plain JS, slow)',
};

/** Parses `?backend=` (anything unknown means auto). */
export function parseBackendParam(value: string | null): DemoBackend | 'auto' {
  return value !== null && (DEMO_BACKENDS as readonly string[]).includes(value) ? (value as DemoBackend) : 'auto';
}

/** True for WebGL renderers that run on the CPU (SwiftShader, llvmpipe): slower than wasm here. */
export function isSoftwareRenderer(renderer: string): boolean {
  return /swiftshader|llvmpipe|softpipe|software/i.test(renderer);
}

let rendererCache: string | null | undefined;
/** The WebGL renderer's name, or null without WebGL. Probed once (a throwaway context, released). */
export function webglRenderer(): string | null {
  if (rendererCache !== undefined) return rendererCache;
  rendererCache = null;
  try {
    const c = document.createElement('canvas');
    const gl = (c.getContext('webgl2') ?? c.getContext('webgl')) as WebGLRenderingContext | null;
    if (gl) {
      const info = gl.getExtension('WEBGL_debug_renderer_info');
      rendererCache = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
      gl.getExtension('WEBGL_lose_context')?.loseContext();
    }
  } catch {
    rendererCache = null;
  }
  return rendererCache;
}

/** Why a backend cannot be offered here, or undefined when it may work (initBackend decides). */
export function unavailableReason(name: DemoBackend): string | undefined {
  switch (name) {
    case 'webgpu':
      if (!loadWebGpu) return 'not in this build';
      return 'gpu' in navigator ? undefined : 'no WebGPU in this browser';
    case 'webgl':
      return webglRenderer() === null ? 'no WebGL context' : undefined;
    case 'wasm':
      return typeof WebAssembly === 'object' ? undefined : 'no WebAssembly';
    case 'cpu':
      return undefined;
  }
}

/** A note shown beside an available backend (e.g. WebGL on a software renderer). */
export function backendNote(name: DemoBackend): string | undefined {
  if (name !== 'webgl') return undefined;
  const r = webglRenderer();
  return r !== null && isSoftwareRenderer(r) ? 'software renderer, slow' : undefined;
}

/**
 * The order 'auto' tries: the offered backends fastest first, with WebGL on a software renderer moved
 * behind wasm (SwiftShader runs the generator ~50× slower than wasm).
 */
export function autoOrder(softwareWebgl: boolean): DemoBackend[] {
  return softwareWebgl ? ['webgpu', 'wasm', 'webgl', 'cpu'] : [...DEMO_BACKENDS];
}

/** Activates a backend; the wasm files come from `wasmBase` on this origin. */
export async function switchBackend(name: DemoBackend | 'auto', wasmBase: string): Promise<BackendInfo> {
  const importModule = (specifier: string): Promise<unknown> => {
    if (specifier === '@tensorflow/tfjs-backend-webgpu' && loadWebGpu) return loadWebGpu();
    return Promise.reject(new Error(`${specifier} is not bundled in this page`));
  };
  if (name !== 'auto') return initBackend({ backend: name, wasmPaths: wasmBase, importModule, quiet: true });
  // auto: the fastest of the offered backends that starts (never a Node one).
  let last: unknown;
  const r = webglRenderer();
  for (const b of autoOrder(r !== null && isSoftwareRenderer(r))) {
    if (unavailableReason(b) !== undefined) continue;
    try {
      return await initBackend({ backend: b, wasmPaths: wasmBase, importModule, quiet: true });
    } catch (e) {
      last = e;
    }
  }
  throw last instanceof Error ? last : new Error('no TensorFlow.js backend could start');
}
