import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type * as Errors from './errors.js';
import type * as InitBackendModule from './init-backend.js';

// The real error tfjs-node 4.22 throws when its native addon is missing (as on this machine).
const BINDING_ERROR =
  'The Node.js native addon module (tfjs_binding.node) can not be found at path: /x/node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node. \n' +
  "Please run command 'npm rebuild @tensorflow/tfjs-node --build-addon-from-source' to rebuild the native addon module.";

const notFound = (spec: string): Error =>
  Object.assign(new Error(`Cannot find module '${spec}' imported from /app/index.js`), { code: 'ERR_MODULE_NOT_FOUND' });

/**
 * A fresh copy of the module, so its once-per-process state (printed line, cache) starts empty; with
 * the error classes of that same copy (instanceof needs them; BackendError.isInstance would not).
 */
async function fresh(): Promise<typeof InitBackendModule & typeof Errors> {
  vi.resetModules();
  return { ...(await import('./errors.js')), ...(await import('./init-backend.js')) };
}

function collect(): { lines: string[]; log: (line: string) => void } {
  const lines: string[] = [];
  return { lines, log: (line) => lines.push(line) };
}

beforeEach(() => {
  vi.stubEnv('RAGAN_BACKEND', '');
});

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('initBackend in auto mode', () => {
  it('picks wasm here (tfjs-node cannot load), logs it once and says what to install', async () => {
    const { initBackend } = await fresh();
    const { lines, log } = collect();
    const info = await initBackend({ log });
    expect(info).toMatchObject({ name: 'wasm', requested: 'auto', threads: 1, fellBackFrom: ['tensorflow-gpu', 'tensorflow'] });
    expect(info.reasons?.tensorflow).toMatch(/@tensorflow\/tfjs-node/);
    expect(info.hint).toBe('for native speed install @tensorflow/tfjs-node (CPU) or @tensorflow/tfjs-node-gpu (CUDA): see docs/backends.md');
    expect(tf.getBackend()).toBe('wasm');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/using wasm \(1 thread\)/);
    expect(lines[1]).toContain(info.hint);
    // What training needs is registered.
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
    expect(tf.getGradient('Greater')).toBeDefined();
    expect(tf.getGradient('AvgPoolGrad')).toBeDefined();

    // Second call: same answer, nothing printed again.
    const again = await initBackend({ log });
    expect(again).toEqual(info);
    expect(lines).toHaveLength(2);
  });

  it('prints nothing when quiet', async () => {
    const { initBackend } = await fresh();
    const log = vi.fn();
    await initBackend({ quiet: true, log });
    expect(log).not.toHaveBeenCalled();
  });

  it('treats an importModule that throws "Cannot find module" as unavailable', async () => {
    const { initBackend } = await fresh();
    const importModule = vi.fn(async (s: string) => {
      throw notFound(s);
    });
    const info = await initBackend({ importModule, quiet: true });
    expect(info.name).toBe('wasm');
    expect(importModule).toHaveBeenCalledWith('@tensorflow/tfjs-node-gpu');
    expect(importModule).toHaveBeenCalledWith('@tensorflow/tfjs-node');
    expect(info.reasons).toEqual({
      'tensorflow-gpu': '@tensorflow/tfjs-node-gpu is not installed',
      tensorflow: '@tensorflow/tfjs-node is not installed',
    });
  });

  it('treats a native binding error as unavailable and says so in the log', async () => {
    const { initBackend } = await fresh();
    const { lines, log } = collect();
    const info = await initBackend({
      log,
      importModule: async (s) => {
        if (s === '@tensorflow/tfjs-node') throw new Error(BINDING_ERROR);
        throw notFound(s);
      },
    });
    expect(info.name).toBe('wasm');
    expect(info.reasons?.tensorflow).toMatch(/native binding failed to load.*tfjs_binding\.node/);
    expect(lines[0]).toMatch(/using wasm .*tensorflow: @tensorflow\/tfjs-node is installed but its native binding failed/);
  });

  it('carries the message of any other load error', async () => {
    const { initBackend } = await fresh();
    const info = await initBackend({
      quiet: true,
      importModule: async () => {
        throw new TypeError('boom in module init');
      },
    });
    expect(info.name).toBe('wasm');
    expect(info.reasons?.['tensorflow-gpu']).toBe('@tensorflow/tfjs-node-gpu failed to load: boom in module init');
  });

  it('reports a module that loads but registers into another tfjs-core copy', async () => {
    const { initBackend } = await fresh();
    const info = await initBackend({ quiet: true, importModule: async () => ({}) });
    expect(info.name).toBe('wasm');
    expect(info.reasons?.tensorflow).toMatch(/another copy of @tensorflow\/tfjs-core/);
  });

  it('uses a native backend when the module registers one (simulated)', async () => {
    const { initBackend } = await fresh();
    const { lines, log } = collect();
    // Stand-in for tfjs-node-gpu: registers a 'tensorflow' backend (the cpu implementation).
    const importModule = vi.fn(async (s: string) => {
      if (s !== '@tensorflow/tfjs-node-gpu') throw notFound(s);
      tf.registerBackend('tensorflow', tf.findBackendFactory('cpu')!);
    });
    try {
      const info = await initBackend({ importModule, log });
      expect(info).toEqual({ name: 'tensorflow-gpu', requested: 'auto', gpu: true });
      expect(tf.getBackend()).toBe('tensorflow');
      expect(lines).toEqual(['ragan: using tensorflow-gpu (libtensorflow, CUDA)']);
      // tfjs-node (CPU) cannot be loaded beside it.
      await expect(initBackend({ backend: 'tensorflow', importModule, quiet: true })).rejects.toThrow(/already loaded/);
    } finally {
      tf.removeBackend('tensorflow');
    }
  });
});

describe('initBackend with an explicit backend', () => {
  it('honours RAGAN_BACKEND', async () => {
    const { initBackend } = await fresh();
    vi.stubEnv('RAGAN_BACKEND', 'cpu');
    const info = await initBackend({ quiet: true });
    expect(info).toMatchObject({ name: 'cpu', requested: 'cpu', threads: 1 });
    expect(tf.getBackend()).toBe('cpu');
    // The option wins over the env.
    expect((await initBackend({ backend: 'wasm', quiet: true })).name).toBe('wasm');
  });

  it('rejects an unknown RAGAN_BACKEND or option with a ConfigError naming the field', async () => {
    const { initBackend, ConfigError } = await fresh();
    vi.stubEnv('RAGAN_BACKEND', 'tpu');
    const e = await initBackend({ quiet: true }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Errors.ConfigError).field).toBe('RAGAN_BACKEND');
    vi.stubEnv('RAGAN_BACKEND', '');
    await expect(initBackend({ backend: 'gpu' as never, quiet: true })).rejects.toThrow(/backend: unknown backend 'gpu'/);
  });

  it("throws BackendUnavailableError with an install hint for 'tensorflow' and keeps the active backend", async () => {
    const { initBackend, BackendUnavailableError, BackendError } = await fresh();
    await initBackend({ backend: 'cpu', quiet: true });
    const e = await initBackend({ backend: 'tensorflow', quiet: true }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(BackendUnavailableError);
    expect(BackendError.isInstance(e)).toBe(true);
    const err = e as Errors.BackendUnavailableError;
    expect(err.code).toBe('BACKEND_UNAVAILABLE');
    expect(err.backend).toBe('tensorflow');
    expect(err.installHint).toContain('pnpm add @tensorflow/tfjs-node');
    expect(err.installHint).toContain('docs/backends.md');
    expect(err.message).toMatch(/Backend 'tensorflow' is not available: @tensorflow\/tfjs-node is not installed/);
    expect(tf.getBackend()).toBe('cpu');
  });

  it("gives a CUDA hint for 'tensorflow-gpu' and a rebuild hint for a binding error", async () => {
    const { initBackend, BackendUnavailableError } = await fresh();
    const gpu = (await initBackend({ backend: 'tensorflow-gpu', quiet: true }).catch((e: unknown) => e)) as Errors.BackendUnavailableError;
    expect(gpu.installHint).toMatch(/pnpm add @tensorflow\/tfjs-node-gpu.*CUDA/);
    const cause = new Error(BINDING_ERROR);
    const binding = (await initBackend({
      backend: 'tensorflow',
      quiet: true,
      importModule: async () => {
        throw cause;
      },
    }).catch((e: unknown) => e)) as Errors.BackendUnavailableError;
    expect(binding).toBeInstanceOf(BackendUnavailableError);
    expect(binding.installHint).toMatch(/npm rebuild @tensorflow\/tfjs-node --build-addon-from-source/);
    expect(binding.cause).toBe(cause);
  });

  it("rejects 'webgpu' and 'webgl' in Node", async () => {
    const { initBackend, BackendUnavailableError } = await fresh();
    await expect(initBackend({ backend: 'webgpu', quiet: true })).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(initBackend({ backend: 'webgl', quiet: true })).rejects.toBeInstanceOf(BackendUnavailableError);
  });

  it('says so when fewer wasm threads run than requested', async () => {
    const { initBackend } = await fresh();
    const { lines, log } = collect();
    const info = await initBackend({ backend: 'wasm', threads: 2, log });
    expect(info.threads).toBe(1);
    expect(lines).toEqual(['ragan: using wasm (1 thread) (2 threads requested; in Node enable them with enableWasmThreads from @ragan/backend/node)']);
  });

  it('runs beforeWasmInit only while the wasm backend is not yet initialised', async () => {
    const { initBackend } = await fresh();
    await initBackend({ backend: 'wasm', quiet: true });
    const hook = vi.fn();
    await initBackend({ backend: 'cpu', quiet: true });
    await initBackend({ backend: 'wasm', quiet: true, beforeWasmInit: hook });
    expect(hook).not.toHaveBeenCalled(); // (that it runs before the first init is tested in src/node/wasm-threads.test.ts)
  });
});

describe('probeBackends', () => {
  it('lists every backend fastest first without changing the active one', async () => {
    const { initBackend, probeBackends, BACKEND_PREFERENCE } = await fresh();
    await initBackend({ backend: 'cpu', quiet: true });
    const probes = await probeBackends();
    expect(probes.map((p) => p.name)).toEqual([...BACKEND_PREFERENCE]);
    const byName = Object.fromEntries(probes.map((p) => [p.name, p]));
    expect(byName.wasm).toEqual({ name: 'wasm', available: true });
    expect(byName.cpu).toEqual({ name: 'cpu', available: true });
    expect(byName.tensorflow).toMatchObject({ available: false, reason: '@tensorflow/tfjs-node is not installed' });
    expect(byName['tensorflow-gpu']?.available).toBe(false);
    expect(byName.webgpu).toMatchObject({ available: false, reason: 'no navigator.gpu here' });
    expect(byName.webgl?.available).toBe(false);
    expect(tf.getBackend()).toBe('cpu');
  });
});
