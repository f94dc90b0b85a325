// ---------------------------------------------------------------------------------------------------
// Generic cpu fallback: copy inputs to the cpu backend, run its kernel, copy the outputs back.
// ---------------------------------------------------------------------------------------------------
import * as tf from '@tensorflow/tfjs';
import { type Backend, type TensorInfo, install, kernel } from './common.js';

/** Kernels the GAN may touch that tfjs-backend-wasm 4.22 lacks and that are too rare to write for wasm. */
export const WASM_CPU_FALLBACK_KERNELS: readonly string[] = [
  'UnsortedSegmentSum', // gradient of gather (embeddings)
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'Einsum',
];

function cpuBackend(): Backend {
  const cpu = tf.engine().findBackend('cpu');
  if (!cpu) throw new Error("the cpu backend is not registered (import '@tensorflow/tfjs')");
  // We use cpu as an implementation detail: its "install tfjs-node" banner would mislead.
  (cpu as unknown as { firstUse?: boolean }).firstUse = false;
  return cpu;
}

/**
 * For each kernel in `names` that `backendName` lacks and the cpu backend has, registers a kernel that
 * runs the cpu one on copies of the inputs. Correct but slow (copies both ways, cpu speed): only for
 * kernels that are rare in a training step.
 */
export function registerCpuFallback(names: readonly string[], backendName = 'wasm'): string[] {
  const added: string[] = [];
  for (const name of names) {
    const cpuKernel = tf.getKernel(name, 'cpu');
    if (!cpuKernel || tf.getKernel(name, backendName)) continue;
    const kernelFunc = kernel(({ inputs, backend, attrs }) => {
      const cpu = cpuBackend();
      const made: tf.DataId[] = [];
      const copy = (t: TensorInfo | null | undefined): TensorInfo | null | undefined => {
        if (t == null) return t;
        const dataId = cpu.write(backend.readSync(t.dataId), t.shape, t.dtype);
        made.push(dataId);
        return { dataId, shape: t.shape, dtype: t.dtype };
      };
      try {
        const cpuInputs = Array.isArray(inputs) ? (inputs as TensorInfo[]).map(copy) : Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, copy(t)]));
        const out = cpuKernel.kernelFunc({ inputs: cpuInputs as tf.NamedTensorInfoMap, backend: cpu, attrs: attrs ?? {} });
        const outs = Array.isArray(out) ? out : [out];
        const results = outs.map((o) => {
          const values = cpu.readSync(o.dataId);
          cpu.disposeData(o.dataId);
          return { dataId: backend.write(values, o.shape, o.dtype), shape: o.shape, dtype: o.dtype };
        });
        return Array.isArray(out) ? results : results[0]!;
      } finally {
        for (const id of made) cpu.disposeData(id);
      }
    });
    install(name, backendName, kernelFunc);
    added.push(name);
  }
  return added;
}
