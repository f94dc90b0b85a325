/**
 * Finds `onnxruntime-node` for `createOnnxGenerator`. It is optional everywhere (a large native package):
 * "not installed" and "installed but its native binding will not load" both mean "not available", with
 * the reason, never a throw.
 */
import type { OrtModuleLike } from '../onnx/ort-types.js';

export type OnnxRuntimeProbe = { ok: true; ort: OrtModuleLike; version: string } | { ok: false; reason: string };

/**
 * Why importing `specifier` (onnxruntime-node or a file of it) failed, in words: "not installed" when the
 * package itself cannot be found, else "did not load" with the first line of the error (a native
 * library that will not load, a missing dependency of it).
 */
export function onnxImportFailure(e: unknown, what = 'onnxruntime-node'): string {
  const msg = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: string }).code;
  const notFound = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || /Cannot find (module|package)/.test(msg);
  if (notFound && /onnxruntime-node/.test(msg) && !/\.node\b/.test(msg)) return 'onnxruntime-node is not installed';
  return `${what} did not load (${msg.split('\n')[0]})`;
}

/**
 * onnxruntime-node 1.30 on Linux starts Microsoft's telemetry SDK (1DS) with the first session, which
 * creates an empty `mat-debug-<pid>.log` in the temp folder for every process and tries to upload usage
 * events. `ORT_DISABLE_TELEMETRY=1` (read by the native library when that session opens) turns it off;
 * a value the user set is left alone. Call before the first session.
 */
export function disableOnnxRuntimeTelemetry(): void {
  if (typeof process !== 'undefined' && process.env && process.env.ORT_DISABLE_TELEMETRY === undefined) process.env.ORT_DISABLE_TELEMETRY = '1';
}

const cache = new WeakMap<object, Promise<OnnxRuntimeProbe>>();
const defaultImport = (s: string): Promise<unknown> => import(/* @vite-ignore */ s);

function isOrtModule(m: unknown): m is OrtModuleLike {
  const o = m as Partial<OrtModuleLike> | null;
  return !!o && typeof o.InferenceSession?.create === 'function' && typeof o.Tensor === 'function';
}

/**
 * Loads `onnxruntime-node` through `importModule` (pass `(s) => import(s)` from the package that depends
 * on it: pnpm lets only that package resolve it). Cached per importer.
 */
export function loadOnnxRuntime(importModule: (specifier: string) => Promise<unknown> = defaultImport): Promise<OnnxRuntimeProbe> {
  const hit = cache.get(importModule);
  if (hit) return hit;
  const probe = (async (): Promise<OnnxRuntimeProbe> => {
    disableOnnxRuntimeTelemetry();
    let mod: unknown;
    try {
      mod = await importModule('onnxruntime-node');
    } catch (e) {
      return { ok: false, reason: onnxImportFailure(e) };
    }
    const ort = (mod as { default?: unknown }).default && !isOrtModule(mod) ? (mod as { default: unknown }).default : mod;
    if (!isOrtModule(ort)) return { ok: false, reason: 'onnxruntime-node loaded but does not look like ONNX Runtime' };
    const version = String((ort as { env?: { versions?: { node?: string } } }).env?.versions?.node ?? 'unknown');
    return { ok: true, ort, version };
  })();
  cache.set(importModule, probe);
  return probe;
}
