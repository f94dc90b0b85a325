/**
 * Where training convolutions run on the wasm backend: `--conv-runtime auto|onnx|wasm` (`ragan train`,
 * `ragan train-classifier`).
 *
 * - `onnx`: ONNX Runtime's native CPU kernels (`onnxruntime-node`, an optional dependency) run every
 *   `Conv2D` and both its gradients; each layer's first call is checked against the wasm kernel (1e-4
 *   relative) and stays on wasm if they differ. Other ops stay on wasm.
 * - `wasm`: XNNPACK in wasm, as before.
 * - `auto` (default): `onnx` when the backend is wasm and onnxruntime-node loads; otherwise nothing changes
 *   (tfjs-node's native kernels and GPUs are left alone; the cpu backend is a slow reference).
 */
import { ConfigError, type BackendInfo } from '@ragan/core';
import { enableOnnxConvKernels, loadOnnxRuntimeBinding } from '@ragan/backend/node';
import { importFromCli } from './import-module.js';

export const CONV_RUNTIMES = ['auto', 'onnx', 'wasm'] as const;

export const CONV_RUNTIME_HELP =
  'wasm backend: where convolutions and their gradients run: onnx (ONNX Runtime native kernels, each layer checked against wasm), wasm (XNNPACK), auto ' +
  '(onnx when onnxruntime-node is installed)';

/**
 * Applies `flag` to the backend `info` describes; returns the line to print (or undefined when nothing
 * is worth saying). Throws a ConfigError for `onnx` when it cannot be honoured.
 */
export async function applyConvRuntime(
  flag: string | undefined,
  info: BackendInfo,
  opts: { threads: number; log?: (line: string) => void; importModule?: (specifier: string) => Promise<unknown> },
): Promise<string | undefined> {
  const want = flag ?? 'auto';
  if (!(CONV_RUNTIMES as readonly string[]).includes(want))
    throw new ConfigError('--conv-runtime', `must be one of ${CONV_RUNTIMES.join(', ')}, got "${flag}"`);
  if (want === 'wasm') return undefined;
  if (info.name !== 'wasm') {
    if (want === 'onnx')
      throw new ConfigError('--conv-runtime', `onnx needs the wasm backend; this run uses ${info.name} (give --backend wasm, or drop --conv-runtime)`);
    return undefined;
  }
  const found = await loadOnnxRuntimeBinding(opts.importModule ?? importFromCli);
  if (!found.ok) {
    if (want === 'onnx') throw new ConfigError('--conv-runtime', `${found.reason}; install it (npm install onnxruntime-node) or use --conv-runtime wasm`);
    return `ragan: convolutions run in wasm (${found.reason}; \`npm install onnxruntime-node\` runs them natively)`;
  }
  enableOnnxConvKernels(found.binding, { threads: opts.threads, ...(opts.log ? { log: opts.log } : {}) });
  return (
    `ragan: convolutions run in ONNX Runtime (${opts.threads} thread${opts.threads === 1 ? '' : 's'}; each layer checked against wasm on first use; ` +
    `--conv-runtime wasm turns this off)`
  );
}
