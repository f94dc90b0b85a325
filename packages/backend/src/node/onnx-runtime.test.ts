import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeOnnxModel } from '../onnx/proto.js';
import { loadOnnxRuntimeBinding } from './onnx-conv-kernels.js';
import { loadOnnxRuntime } from './onnx-runtime.js';

// onnxruntime-node 1.30's Linux telemetry (Microsoft's 1DS SDK) creates an empty mat-debug-<pid>.log in
// the temp folder when the first session opens, unless ORT_DISABLE_TELEMETRY is set.
const debugLogs = () => [...new Set([tmpdir(), '/tmp'])].map((d) => join(d, `mat-debug-${process.pid}.log`));

const addModel = () =>
  encodeOnnxModel({
    producerName: 'test',
    producerVersion: '0',
    opsetVersion: 17,
    graphName: 'g',
    nodes: [{ opType: 'Add', inputs: ['x', 'c'], outputs: ['y'], name: 'add' }],
    initializers: [{ name: 'c', dims: [2], data: new Float32Array([1, 2]) }],
    inputs: [{ name: 'x', dims: [2] }],
    outputs: [{ name: 'y', dims: [2] }],
  });

describe('ONNX Runtime leaves no file behind', () => {
  it('a session opened through loadOnnxRuntime and one through loadOnnxRuntimeBinding write no mat-debug-<pid>.log', async () => {
    delete process.env.ORT_DISABLE_TELEMETRY; // as in a user's shell
    const found = await loadOnnxRuntime();
    expect(found.ok).toBe(true);
    if (!found.ok) return;
    const session = await found.ort.InferenceSession.create(addModel());
    const out = await session.run({ x: new found.ort.Tensor('float32', new Float32Array([3, 4]), [2]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([4, 6]);
    await session.release?.();
    const binding = await loadOnnxRuntimeBinding();
    expect(binding.ok).toBe(true);
    if (binding.ok) binding.binding.createSession(addModel(), {});
    const left = debugLogs().filter((f) => existsSync(f));
    for (const f of left) rmSync(f, { force: true }); // this process's own file only
    expect(left).toEqual([]);
  });
});
