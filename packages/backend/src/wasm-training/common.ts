/**
 * The shared machinery of the training kernels: registration that keeps the stock kernel, intermediates,
 * direct memory access.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export type TensorInfo = tf.TensorInfo;
export type KernelFunc = tf.KernelFunc;
export type Backend = tf.KernelBackend;
type Attrs = tf.NamedAttrMap;
/** A kernel body with the backend typed (tfjs types it as `{}`). */
type KernelBody<B extends Backend = Backend> = (args: { inputs: tf.NamedTensorInfoMap; backend: B; attrs: Attrs }) => TensorInfo | TensorInfo[];
export const kernel = <B extends Backend>(body: KernelBody<B>): KernelFunc =>
  ((args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: Attrs }) =>
    body({ inputs: args.inputs, backend: args.backend as B, attrs: args.attrs ?? {} })) as KernelFunc;

/** Marks kernels registered by RAGAN, so a second registration (or a second copy of core) skips them. */
const MARK = Symbol.for('ragan.kernel');

/** Stock kernel configs we replaced, by `${backend}/${kernel}`; `null` = there was none. */
export const replaced = new Map<string, tf.KernelConfig | null>();

export function isOurs(kernelName: string, backendName: string): boolean {
  const k = tf.getKernel(kernelName, backendName);
  return k != null && (k.kernelFunc as unknown as Record<symbol, unknown>)[MARK] === true;
}

/** Registers `kernelFunc` for (kernelName, backendName) unless ours is already there; keeps the stock one. */
export function install(kernelName: string, backendName: string, kernelFunc: KernelFunc, setupFunc?: tf.KernelConfig['setupFunc']): void {
  if (isOurs(kernelName, backendName)) return;
  const stock = tf.getKernel(kernelName, backendName);
  const key = `${backendName}/${kernelName}`;
  if (!replaced.has(key)) replaced.set(key, stock ?? null);
  if (stock) tf.unregisterKernel(kernelName, backendName);
  Object.defineProperty(kernelFunc, MARK, { value: true });
  const config: tf.KernelConfig = { kernelName, backendName, kernelFunc };
  if (setupFunc) config.setupFunc = setupFunc;
  tf.registerKernel(config);
}

/**
 * Puts back the kernels that `register*` replaced (for benchmarks and tests that compare against stock).
 * With `backendName`, only that backend's.
 */
export function restoreStockKernels(backendName?: string): void {
  for (const [key, stock] of replaced) {
    const slash = key.indexOf('/');
    const be = key.slice(0, slash);
    const name = key.slice(slash + 1);
    if (backendName !== undefined && be !== backendName) continue;
    if (isOurs(name, be)) tf.unregisterKernel(name, be);
    if (stock && !tf.getKernel(name, be)) tf.registerKernel(stock);
    replaced.delete(key);
  }
}

export function kernelOf(kernelName: string, backendName: string): KernelFunc {
  const k = tf.getKernel(kernelName, backendName);
  if (!k) throw new Error(`kernel ${kernelName} is not registered for backend '${backendName}'`);
  return k.kernelFunc;
}

/** Runs a kernel that returns one tensor. */
export function run(k: KernelFunc, inputs: Record<string, TensorInfo> | TensorInfo[], backend: Backend, attrs: object): TensorInfo {
  const out = k({ inputs: inputs as tf.NamedTensorInfoMap, backend, attrs: attrs as Attrs });
  if (Array.isArray(out)) throw new Error('expected a kernel with one output');
  return out;
}

/** Collects intermediates and disposes them in one place (also on error). */
export class Scratch {
  private readonly items: TensorInfo[] = [];
  constructor(private readonly backend: Backend) {}
  keep(t: TensorInfo): TensorInfo {
    this.items.push(t);
    return t;
  }
  dispose(): void {
    for (const t of this.items) this.backend.disposeData(t.dataId);
    this.items.length = 0;
  }
}

export const prod = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

export function conv2DInfo(
  xShape: readonly number[],
  filterShape: readonly number[],
  attrs: { strides: number | [number, number]; pad: unknown; dimRoundingMode?: unknown; dataFormat?: string },
): tf.backend_util.Conv2DInfo {
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC') {
    throw new Error(`RAGAN training kernels support dataFormat 'NHWC' only, got '${attrs.dataFormat}'`);
  }
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad as 'same' | 'valid' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false,
    'channelsLast',
  );
}

// ---------------------------------------------------------------------------------------------------
// Direct memory access: the wasm heap (no copies) or the cpu backend's arrays.
// ---------------------------------------------------------------------------------------------------
export function isWasm(backend: Backend): backend is BackendWasm {
  return typeof (backend as Partial<BackendWasm>).typedArrayFromHeap === 'function';
}

/** The float32 values of `t`, read-only. On wasm a heap view: take it after any allocation. */
export function view(backend: Backend, t: TensorInfo): Float32Array {
  return (isWasm(backend) ? backend.typedArrayFromHeap(t) : backend.readSync(t.dataId)) as Float32Array;
}

/** A new float32 tensor whose every element `fill` writes (wasm: straight into the heap). */
export function allocate(backend: Backend, shape: number[], fill: (dst: Float32Array) => void): TensorInfo {
  if (isWasm(backend)) {
    const out = backend.makeOutput(shape, 'float32');
    fill(backend.typedArrayFromHeap(out) as Float32Array);
    return out;
  }
  const dst = new Float32Array(prod(shape));
  fill(dst);
  return { dataId: backend.write(dst, shape, 'float32'), shape, dtype: 'float32' };
}
