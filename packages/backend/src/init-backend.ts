/**
 * Backend selection. Nothing is chosen at import: `initBackend()` picks (explicit option > RAGAN_BACKEND
 * env > first available of tensorflow-gpu > tensorflow > webgpu > webgl > wasm > cpu), activates it,
 * registers what training needs on it, and prints the choice once.
 *
 * Browser-safe: no Node built-ins. Native and WebGPU backends are optional modules of the *app*, loaded
 * through `importModule` (pnpm is strict: core itself cannot resolve the cli's optional dependencies).
 */
import * as tf from '@tensorflow/tfjs';
import { BackendUnavailableError, ConfigError } from './errors.js';
import { registerSecondOrderGradients } from './gradients.js';
import { registerCpuTrainingKernels, registerWasmTrainingKernels } from './wasm-training.js';
import { prepareWasmWinograd, setWasmWinograd } from './wasm-winograd.js';
import { heapMemory } from './wasm-heap.js';
import { installWasmGemm } from './wasm-gemm.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** Backends RAGAN knows, fastest first. 'tensorflow-gpu' and 'tensorflow' both register tfjs's 'tensorflow'. */
export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** Auto-selection order. */
export const BACKEND_PREFERENCE: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'webgpu', 'webgl', 'wasm', 'cpu'];

export interface InitBackendOptions {
  /** Backend to use; 'auto' (default) = RAGAN_BACKEND env, else the first available in BACKEND_PREFERENCE. */
  backend?: BackendName | 'auto';
  /**
   * wasm: XNNPACK threads, passed to `setThreadsCount` before the backend initialises. Browsers need
   * cross-origin isolation for threads; in Node, threads need `beforeWasmInit` (see `@ragan/backend/node`).
   */
  threads?: number;
  /** Print nothing. Default false. */
  quiet?: boolean;
  /** Where the one-line messages go. Default `console.error` (stderr: keeps stdout for results). */
  log?: (line: string) => void;
  /**
   * Loads an optional module by name (tfjs-node, tfjs-node-gpu, tfjs-backend-webgpu). Pass
   * `(s) => import(s)` from the app so its own node_modules resolve them. Default: a plain dynamic import
   * from core (works when the module is hoisted or core is not installed strictly).
   */
  importModule?: (specifier: string) => Promise<unknown>;
  /** Browser: where the tfjs-backend-wasm `.wasm` files are served (`setWasmPaths`). Node finds them itself. */
  wasmPaths?: string | Record<string, string>;
  /** Runs once, just before the wasm backend initialises (Node: `enableWasmThreads` from `@ragan/backend/node`). */
  beforeWasmInit?: () => unknown;
  /**
   * cpu only: use the composite Conv2DBackpropFilter (per-tap matmuls, ~65× faster than tfjs's direct loop,
   * tested equal to it). Default true: without it a tiny model's training step takes minutes on cpu.
   */
  fastCpuConvFilterGrad?: boolean;
  /**
   * wasm only: run big 3×3 stride-1 convolutions by Winograd F(4×4, 3×3) (1.1–2.4× faster per layer
   * here; float32 results within ≈1e-5 of the largest output value instead of ≈1e-6). Default true;
   * each call sets it (the setting is process-wide).
   */
  wasmWinograd?: boolean;
  /**
   * wasm only: the Winograd convolutions' matrix products, and the filter gradients of stride-1
   * convolutions, by our own WebAssembly SIMD matrix product instead of XNNPACK's (bit-identical here;
   * 1.23–1.41× faster per thread). On one thread always; on more only
   * where threads of its own can run it (Node, via `enableWasmThreads` from `@ragan/backend/node`).
   * Default true.
   */
  wasmGemm?: boolean;
}

export interface BackendInfo {
  /** The backend now active. */
  name: BackendName;
  /** What was asked for (after resolving RAGAN_BACKEND). */
  requested: BackendName | 'auto';
  /** Auto mode: the faster backends that were tried and are unavailable, fastest first. */
  fellBackFrom?: BackendName[];
  /** Why each of `fellBackFrom` is unavailable. */
  reasons?: Partial<Record<BackendName, string>>;
  /** Auto mode fallback: what to install for a faster backend. */
  hint?: string;
  /** wasm: XNNPACK threads in use; cpu: 1. */
  threads?: number;
  /** tensorflow-gpu: whether libtensorflow found a CUDA device (if not, it runs on the CPU). */
  gpu?: boolean;
}

export interface BackendProbe {
  name: BackendName;
  available: boolean;
  reason?: string;
}

const TFJS_NAME: Record<BackendName, string> = {
  'tensorflow-gpu': 'tensorflow',
  tensorflow: 'tensorflow',
  webgpu: 'webgpu',
  webgl: 'webgl',
  wasm: 'wasm',
  cpu: 'cpu',
};

const MODULE: Partial<Record<BackendName, string>> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
  webgpu: '@tensorflow/tfjs-backend-webgpu',
  wasm: '@tensorflow/tfjs-backend-wasm',
};

const DOCS = 'see docs/backends.md';

/** What to install or fix, per backend and failure kind. */
function installHint(name: BackendName, kind: FailureKind): string {
  switch (name) {
    case 'tensorflow-gpu':
      return kind === 'binding'
        ? 'Its native binding did not load: it needs Linux x64 with CUDA 11.2 and cuDNN 8.1 on the library path; reinstall with `pnpm add ' +
            '@tensorflow/tfjs-node-gpu` (the install script downloads libtensorflow), or run `npm rebuild @tensorflow/tfjs-node-gpu ' +
            '--build-addon-from-source`; ' +
            `${DOCS}.`
        : `Install it with \`pnpm add @tensorflow/tfjs-node-gpu\` (Linux x64, CUDA 11.2 + cuDNN 8.1; its install script downloads libtensorflow); ${DOCS}.`;
    case 'tensorflow':
      return kind === 'binding'
        ? 'Its native binding did not load: reinstall with `pnpm add @tensorflow/tfjs-node` where its install script can download libtensorflow, or run ' +
            '`npm rebuild @tensorflow/tfjs-node --build-addon-from-source`; ' +
            `${DOCS}.`
        : `Install it with \`pnpm add @tensorflow/tfjs-node\` (its install script downloads libtensorflow); ${DOCS}.`;
    case 'webgpu':
      return `Needs a browser with WebGPU (navigator.gpu) and \`@tensorflow/tfjs-backend-webgpu\` passed through importModule; ${DOCS}.`;
    case 'webgl':
      return `Needs a browser where a WebGL context can be created; ${DOCS}.`;
    case 'wasm':
      return `Install \`@tensorflow/tfjs-backend-wasm\` (same version as @tensorflow/tfjs); in a browser serve its .wasm files and pass wasmPaths; ${DOCS}.`;
    case 'cpu':
      return `The cpu backend ships with @tensorflow/tfjs; ${DOCS}.`;
  }
}

/** One short phrase per backend for the auto-fallback hint line. */
const FASTER_WITH: Partial<Record<BackendName, string>> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu (CUDA)',
  tensorflow: '@tensorflow/tfjs-node (CPU)',
  webgpu: 'a browser with WebGPU',
  webgl: 'a browser with WebGL',
  wasm: '@tensorflow/tfjs-backend-wasm',
};

type FailureKind = 'missing' | 'binding' | 'unsupported' | 'error';
type Attempt = { ok: true; threads?: number; gpu?: boolean } | { ok: false; kind: FailureKind; reason: string; cause?: unknown };

// Process-wide state: which native module we loaded (both register tfjs's 'tensorflow'), what was printed,
// and the last successful result per request (for a cheap repeat call).
const state: {
  native?: 'tensorflow-gpu' | 'tensorflow';
  printed?: string;
  byRequest: Map<string, BackendInfo>;
} = { byRequest: new Map() };

const defaultImportModule = (specifier: string): Promise<unknown> => import(/* @vite-ignore */ /* webpackIgnore: true */ specifier);

const isNode = (): boolean => typeof process !== 'undefined' && typeof process.versions === 'object' && process.versions?.node != null;

function envBackend(): string | undefined {
  if (typeof process === 'undefined' || typeof process.env !== 'object') return undefined;
  const v = process.env.RAGAN_BACKEND;
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function parseBackend(value: string, field: string): BackendName | 'auto' {
  if (value === 'auto' || (BACKEND_PREFERENCE as readonly string[]).includes(value)) return value as BackendName | 'auto';
  throw new ConfigError(field, `unknown backend '${value}'; use one of auto, ${BACKEND_PREFERENCE.join(', ')}`);
}

function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'object' && e !== null && 'message' in e) return String((e as { message: unknown }).message);
  return String(e);
}

const BINDING_PATTERNS = [
  /tfjs_binding/i,
  /libtensorflow/i,
  /The specified module could not be found/i,
  /native addon/i,
  /cannot open shared object/i,
  /libcud/i,
  /dlopen/i,
  /\.node['"]?\s*$/im,
];

/** Classifies a failed import: absent package, present package whose native part failed, or other. */
export function classifyLoadError(specifier: string, e: unknown): { kind: FailureKind; reason: string } {
  // first line, without the long absolute path tfjs-node appends
  const msg = messageOf(e)
    .split('\n')[0]!
    .replace(/\s*at path:.*$/i, '')
    .trim();
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  if (BINDING_PATTERNS.some((p) => p.test(messageOf(e)))) {
    return { kind: 'binding', reason: `${specifier} is installed but its native binding failed to load (${msg})` };
  }
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || /Cannot find (module|package)/i.test(msg)) {
    return { kind: 'missing', reason: `${specifier} is not installed` };
  }
  return { kind: 'error', reason: `${specifier} failed to load: ${msg}` };
}

function isApplicable(name: BackendName): boolean {
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow':
      return isNode();
    case 'webgpu':
      return hasNavigatorGpu();
    case 'webgl':
      return !isNode() && typeof document !== 'undefined';
    default:
      return true;
  }
}

function hasNavigatorGpu(): boolean {
  const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
  return nav != null && nav.gpu != null;
}

function canCreateWebGLContext(): boolean {
  try {
    const g = globalThis as {
      OffscreenCanvas?: new (w: number, h: number) => { getContext(kind: string): unknown };
      document?: { createElement(tag: string): { getContext(kind: string): unknown } };
    };
    const canvas = g.OffscreenCanvas ? new g.OffscreenCanvas(1, 1) : g.document?.createElement('canvas');
    return canvas != null && (canvas.getContext('webgl2') != null || canvas.getContext('webgl') != null);
  } catch {
    return false;
  }
}

const wasmInitialised = (): boolean => 'wasm' in tf.engine().registry;

type WasmModule = typeof import('@tensorflow/tfjs-backend-wasm');

async function importWasm(): Promise<WasmModule> {
  // A literal specifier: bundlers include the wasm backend (core's optional peer) in the app.
  return import('@tensorflow/tfjs-backend-wasm');
}

/**
 * tfjs-node registers its kernels before it loads the native binding; when the binding then fails and
 * the other native package is tried, tfjs warns once per kernel ("The kernel 'X' for backend
 * 'tensorflow' is already registered"): ~170 lines of noise about a backend we do not use.
 */
async function withoutReRegistrationWarnings<T>(fn: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && /^The kernel '.*' for backend '.*' is already registered/.test(args[0])) return;
    warn.apply(console, args);
  };
  try {
    return await fn();
  } finally {
    console.warn = warn;
  }
}

/** Loads a native module; does not activate it. */
async function loadNative(name: 'tensorflow-gpu' | 'tensorflow', importModule: (s: string) => Promise<unknown>): Promise<Attempt> {
  const spec = MODULE[name]!;
  if (!isNode()) return { ok: false, kind: 'unsupported', reason: `${spec} needs Node.js` };
  if (state.native && state.native !== name) {
    return { ok: false, kind: 'error', reason: `${MODULE[state.native]} is already loaded in this process` };
  }
  // An app that imported tfjs-node itself: use it for 'tensorflow' without a second import.
  if (!(state.native === undefined && name === 'tensorflow' && tf.findBackendFactory('tensorflow'))) {
    try {
      await withoutReRegistrationWarnings(() => importModule(spec));
    } catch (e) {
      return { ok: false, cause: e, ...classifyLoadError(spec, e) };
    }
  }
  if (!tf.findBackendFactory('tensorflow')) {
    return {
      ok: false,
      kind: 'error',
      reason:
        `${spec} loaded but registered its backend with another copy of @tensorflow/tfjs-core; install every @tensorflow/* package at version ` +
        `${tf.version_core} once`,
    };
  }
  state.native = name;
  return { ok: true };
}

async function activate(tfjsName: string): Promise<boolean> {
  try {
    return await tf.setBackend(tfjsName);
  } catch {
    return false;
  }
}

async function attempt(name: BackendName, opts: InitBackendOptions, importModule: (s: string) => Promise<unknown>): Promise<Attempt> {
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow': {
      const loaded = await loadNative(name, importModule);
      if (!loaded.ok) return loaded;
      if (!(await activate('tensorflow'))) {
        return { ok: false, kind: 'binding', reason: `${MODULE[name]} loaded but its backend failed to initialise` };
      }
      if (name === 'tensorflow') return { ok: true };
      // tfjs-node-gpu's libtensorflow runs on the CPU when it finds no usable CUDA device.
      return { ok: true, gpu: (tf.backend() as { isUsingGpuDevice?: boolean }).isUsingGpuDevice !== false };
    }
    case 'webgpu': {
      if (!hasNavigatorGpu()) return { ok: false, kind: 'unsupported', reason: 'no navigator.gpu here' };
      if (!tf.findBackendFactory('webgpu')) {
        try {
          await importModule(MODULE.webgpu!);
        } catch (e) {
          return { ok: false, cause: e, ...classifyLoadError(MODULE.webgpu!, e) };
        }
      }
      if (!tf.findBackendFactory('webgpu')) return { ok: false, kind: 'error', reason: 'the webgpu backend did not register' };
      return (await activate('webgpu')) ? { ok: true } : { ok: false, kind: 'unsupported', reason: 'no WebGPU adapter' };
    }
    case 'webgl': {
      if (!tf.findBackendFactory('webgl')) return { ok: false, kind: 'unsupported', reason: 'the webgl backend registers only in browsers' };
      if (!canCreateWebGLContext()) return { ok: false, kind: 'unsupported', reason: 'no WebGL context could be created' };
      return (await activate('webgl')) ? { ok: true } : { ok: false, kind: 'unsupported', reason: 'the webgl backend failed to initialise' };
    }
    case 'wasm': {
      if (typeof WebAssembly !== 'object') return { ok: false, kind: 'unsupported', reason: 'no WebAssembly here' };
      let mod: WasmModule;
      try {
        mod = await importWasm();
      } catch (e) {
        return { ok: false, cause: e, ...classifyLoadError(MODULE.wasm!, e) };
      }
      if (!wasmInitialised()) {
        if (opts.wasmPaths !== undefined) mod.setWasmPaths(opts.wasmPaths);
        if (opts.threads !== undefined && opts.threads >= 1) mod.setThreadsCount(Math.floor(opts.threads));
        if (opts.beforeWasmInit) await opts.beforeWasmInit();
      }
      if (!(await activate('wasm'))) return { ok: false, kind: 'error', reason: 'the wasm backend failed to initialise (see the warning above)' };
      return { ok: true, threads: mod.getThreadsCount() };
    }
    case 'cpu':
      return (await activate('cpu')) ? { ok: true, threads: 1 } : { ok: false, kind: 'error', reason: 'the cpu backend failed to initialise' };
  }
}

/** Makes the active backend trainable: kernels it lacks, second-order gradients. Idempotent. */
function registerTraining(name: BackendName, opts: InitBackendOptions): void {
  registerSecondOrderGradients();
  setWasmWinograd({ enabled: opts.wasmWinograd ?? true });
  if (name === 'wasm') registerWasmTrainingKernels();
  if (name === 'cpu') {
    registerCpuTrainingKernels({ fastConvFilterGrad: opts.fastCpuConvFilterGrad ?? true });
    // We print our own line (or nothing, if quiet): tfjs's "install tfjs-node" banner would repeat it.
    const cpu = tf.engine().registry.cpu as { firstUse?: boolean } | undefined;
    if (cpu) cpu.firstUse = false;
  }
}

function describe(name: BackendName, threads: number | undefined, gpu: boolean | undefined): string {
  switch (name) {
    case 'tensorflow-gpu':
      return gpu === false ? 'tensorflow-gpu (libtensorflow; no CUDA device found, running on the CPU)' : 'tensorflow-gpu (libtensorflow, CUDA)';
    case 'tensorflow':
      return 'tensorflow (libtensorflow, CPU)';
    case 'wasm':
      return `wasm (${threads ?? 1} thread${(threads ?? 1) === 1 ? '' : 's'})`;
    case 'cpu':
      return 'cpu (plain JavaScript, slow)';
    default:
      return name;
  }
}

/**
 * Chooses, activates and prepares the TensorFlow.js backend. Cheap when called again for the same
 * backend. Throws BackendUnavailableError when an explicitly requested backend (option or RAGAN_BACKEND)
 * cannot be used, ConfigError for an unknown name.
 */
export async function initBackend(opts: InitBackendOptions = {}): Promise<BackendInfo> {
  const fromEnv = opts.backend === undefined || opts.backend === 'auto' ? envBackend() : undefined;
  const requested =
    opts.backend !== undefined && opts.backend !== 'auto'
      ? parseBackend(opts.backend, 'backend')
      : fromEnv !== undefined
        ? parseBackend(fromEnv, 'RAGAN_BACKEND')
        : 'auto';
  const importModule = opts.importModule ?? defaultImportModule;
  const log = opts.quiet ? () => {} : (opts.log ?? ((line: string) => console.error(line)));

  const cached = state.byRequest.get(requested);
  if (cached && tf.getBackend() === TFJS_NAME[cached.name]) {
    registerTraining(cached.name, opts);
    return copyInfo(cached);
  }

  const candidates = requested === 'auto' ? BACKEND_PREFERENCE.filter(isApplicable) : [requested];
  const fellBackFrom: BackendName[] = [];
  const reasons: Partial<Record<BackendName, string>> = {};
  const previous = tf.getBackend() as string | null;
  for (const name of candidates) {
    const r = await attempt(name, opts, importModule);
    if (!r.ok) {
      if (requested !== 'auto') {
        // A failed setBackend leaves tfjs without an active backend: put the previous one back.
        if (previous && tf.getBackend() !== previous) await activate(previous);
        throw new BackendUnavailableError(name, `Backend '${name}' is not available: ${r.reason}.`, installHint(name, r.kind), {
          cause: r.cause,
        });
      }
      fellBackFrom.push(name);
      reasons[name] = r.reason;
      continue;
    }
    registerTraining(name, opts);
    // Compiled ahead, asynchronously: browsers refuse a synchronous compile of it on the main thread.
    if (name === 'wasm') {
      const be = tf.backend() as unknown as BackendWasm;
      await prepareWasmWinograd(be);
      await installWasmGemm(heapMemory(be), r.threads ?? 1, opts.wasmGemm ?? true);
    }
    const info: BackendInfo = { name, requested };
    if (r.threads !== undefined) info.threads = r.threads;
    if (r.gpu !== undefined) info.gpu = r.gpu;
    if (fellBackFrom.length > 0) {
      info.fellBackFrom = fellBackFrom;
      info.reasons = reasons;
      const faster = fellBackFrom.map((n) => FASTER_WITH[n]).filter((s): s is string => s !== undefined);
      if (faster.length > 0) {
        const what = name === 'wasm' || name === 'cpu' ? 'native speed' : 'more speed';
        info.hint = `for ${what} install ${faster.reverse().join(' or ')}: ${DOCS}`;
      }
    }
    state.byRequest.set(requested, info);
    const line = describe(name, info.threads, info.gpu);
    if (state.printed !== line) {
      state.printed = line;
      // Failures other than "not installed" are surprising: say what happened.
      const notes = fellBackFrom.filter((n) => reasons[n] !== undefined && !reasons[n]!.endsWith('is not installed')).map((n) => `${n}: ${reasons[n]}`);
      if (name === 'wasm' && opts.threads !== undefined && (info.threads ?? 1) < opts.threads) {
        notes.push(
          `${opts.threads} threads ` +
            `requested${isNode() ? '; in Node enable them with enableWasmThreads from @ragan/backend/node' : '; browsers need cross-origin isolation'}`,
        );
      }
      log(`ragan: using ${line}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`);
      if (info.hint) log(`ragan: ${info.hint}`);
    }
    return copyInfo(info);
  }
  // Unreachable: cpu is always a candidate in auto mode and always available.
  throw new BackendUnavailableError('cpu', 'No TensorFlow.js backend could be initialised.', installHint('cpu', 'error'));
}

function copyInfo(info: BackendInfo): BackendInfo {
  const copy: BackendInfo = { ...info };
  if (info.fellBackFrom) copy.fellBackFrom = [...info.fellBackFrom];
  if (info.reasons) copy.reasons = { ...info.reasons };
  return copy;
}

/**
 * Which backends could be used here, fastest first (for `ragan info`). May import optional modules (which
 * registers their backends) but never changes the active backend.
 */
export async function probeBackends(opts: Pick<InitBackendOptions, 'importModule'> = {}): Promise<BackendProbe[]> {
  const importModule = opts.importModule ?? defaultImportModule;
  const out: BackendProbe[] = [];
  for (const name of BACKEND_PREFERENCE) {
    const p = await probeOne(name, importModule);
    out.push(p.available ? { name, available: true } : { name, available: false, reason: p.reason ?? 'unavailable' });
  }
  return out;
}

async function probeOne(name: BackendName, importModule: (s: string) => Promise<unknown>): Promise<{ available: boolean; reason?: string }> {
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow': {
      const r = await loadNative(name, importModule);
      return r.ok ? { available: true } : { available: false, reason: r.reason };
    }
    case 'webgpu': {
      if (!hasNavigatorGpu()) return { available: false, reason: 'no navigator.gpu here' };
      try {
        const gpu = (globalThis as unknown as { navigator: { gpu: { requestAdapter(): Promise<unknown> } } }).navigator.gpu;
        if ((await gpu.requestAdapter()) == null) return { available: false, reason: 'no WebGPU adapter' };
      } catch (e) {
        return { available: false, reason: `WebGPU adapter request failed: ${messageOf(e)}` };
      }
      if (!tf.findBackendFactory('webgpu')) {
        try {
          await importModule(MODULE.webgpu!);
        } catch (e) {
          return { available: false, reason: classifyLoadError(MODULE.webgpu!, e).reason };
        }
      }
      return { available: true };
    }
    case 'webgl':
      if (!tf.findBackendFactory('webgl')) return { available: false, reason: 'the webgl backend registers only in browsers' };
      return canCreateWebGLContext() ? { available: true } : { available: false, reason: 'no WebGL context could be created' };
    case 'wasm':
      if (typeof WebAssembly !== 'object') return { available: false, reason: 'no WebAssembly here' };
      try {
        await importWasm();
        return { available: true };
      } catch (e) {
        return { available: false, reason: classifyLoadError(MODULE.wasm!, e).reason };
      }
    case 'cpu':
      return { available: true };
  }
}
