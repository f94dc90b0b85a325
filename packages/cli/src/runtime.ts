/**
 * Where the generator runs for `ragan age`, `ragan demo` and `ragan eval`: `--runtime auto|onnx|tfjs`.
 *
 * - `onnx`: ONNX Runtime (`onnxruntime-node`, an optional dependency) on the CPU. The generator is
 *   exported to ONNX in memory and used only if its output matches tfjs within 1e-4 on a probe batch.
 * - `tfjs`: the TensorFlow.js backend chosen by `--backend`.
 * - `auto` (default): ONNX Runtime when the tfjs backend is wasm or cpu and ONNX Runtime loads and
 *   matches; otherwise tfjs (tfjs-node's native kernels, or a GPU, are left alone).
 */
import { availableParallelism } from 'node:os';
import { ConfigError, OnnxMismatchError, createOnnxGenerator, type BackendInfo, type Generator, type GeneratorForward } from '@ragan/core';
import { loadOnnxRuntime } from '@ragan/backend/node';
import { importFromCli } from './import-module.js';

export const RUNTIMES = ['auto', 'onnx', 'tfjs'] as const;
export type RuntimeFlag = (typeof RUNTIMES)[number];

export const RUNTIME_HELP =
  'where the generator runs: onnx (ONNX Runtime, CPU), tfjs (the --backend), auto (onnx when the backend is wasm/cpu and ONNX Runtime is installed and ' +
  'matches tfjs within 1e-4)';

export interface GeneratorRuntime {
  /** `onnxruntime-node 1.30.0` or `tfjs wasm`. */
  name: string;
  /** Why this runtime (and what auto passed over). */
  detail: string;
  /** Set when the generator runs in ONNX Runtime. */
  forward?: GeneratorForward;
  /** Largest |ONNX Runtime − tfjs| on the probe batch. */
  maxAbsDiff?: number;
  dispose(): Promise<void>;
}

const tfjsRuntime = (backend: BackendInfo, detail: string): GeneratorRuntime => ({ name: `tfjs ${backend.name}`, detail, dispose: async () => {} });

/** Opens the runtime `flag` asks for; `auto` falls back to tfjs with the reason in `detail`. */
export async function openGeneratorRuntime(
  generator: Generator,
  flag: string | undefined,
  backend: BackendInfo,
  opts: { threads?: number; importModule?: (specifier: string) => Promise<unknown> } = {},
): Promise<GeneratorRuntime> {
  const want = (flag ?? 'auto') as RuntimeFlag;
  if (!(RUNTIMES as readonly string[]).includes(want)) throw new ConfigError('--runtime', `must be one of ${RUNTIMES.join(', ')}, got "${flag}"`);
  if (want === 'tfjs') return tfjsRuntime(backend, '--runtime tfjs');
  if (want === 'auto' && backend.name !== 'wasm' && backend.name !== 'cpu') return tfjsRuntime(backend, `auto: the ${backend.name} backend is used as is`);
  const found = await loadOnnxRuntime(opts.importModule ?? importFromCli);
  if (!found.ok) {
    if (want === 'onnx') throw new ConfigError('--runtime', `${found.reason}; install it (npm install onnxruntime-node) or use --runtime tfjs`);
    return tfjsRuntime(backend, `auto: ${found.reason}`);
  }
  try {
    const onnx = await createOnnxGenerator(found.ort, generator, { threads: opts.threads ?? Math.min(4, availableParallelism()) });
    return {
      name: `onnxruntime-node ${found.version}`,
      detail: `${want === 'auto' ? 'auto: ' : ''}matches tfjs within ${onnx.maxAbsDiff.toExponential(1)}`,
      forward: onnx.apply,
      maxAbsDiff: onnx.maxAbsDiff,
      dispose: onnx.dispose,
    };
  } catch (e) {
    if (want === 'onnx') throw new ConfigError('--runtime', `ONNX Runtime cannot run this model: ${(e as Error).message}`, { cause: e });
    return tfjsRuntime(backend, `auto: ${e instanceof OnnxMismatchError ? e.message : `ONNX Runtime failed (${(e as Error).message})`}`);
  }
}
