import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { fileUrl, resolverFrom, runTsChild } from '@ragan/test-utils/child-process';
import { expectTensorsClose } from '@ragan/test-utils/tensors';
import { initBackend } from '../init-backend.js';
import { enableWasmThreads } from './wasm-threads.js';

// Threads must be enabled before the wasm backend initialises, once per process: each case runs in a
// child process, which must also exit by itself (idle pthreads must not keep it alive).
const here = path.dirname(fileURLToPath(import.meta.url));
const pkgDir = path.join(here, '..', '..');
const resolveHere = resolverFrom(import.meta.url);
const url = fileUrl;

const CHILD = `
const { enableWasmThreads } = await import(${JSON.stringify(url(path.join(here, 'wasm-threads.ts')))});
const { initBackend } = await import(${JSON.stringify(url(path.join(here, '..', 'init-backend.ts')))});
const tfm = await import(${JSON.stringify(url(resolveHere('@tensorflow/tfjs')))});
const tf = tfm.default ?? tfm;
const threads = Number(process.argv[2]);
const timeoutMs = process.argv[3] ? Number(process.argv[3]) : undefined;
const messages = [];
const info = await initBackend({
  backend: 'wasm',
  threads,
  log: (l) => messages.push(l),
  beforeWasmInit: () => enableWasmThreads(threads, { log: (l) => messages.push(l), timeoutMs }),
});
const x = tf.randomUniform([2, 12, 10, 16], -1, 1, 'float32', 1);
const w = tf.randomUniform([3, 3, 16, 24], -1, 1, 'float32', 2);
const y = tf.conv2d(x, w, 2, 'same');
const [dx, dw] = tf.grads((a, b) => tf.sum(tf.square(tf.conv2d(a, b, 2, 'same'))))([x, w]);
const out = (t) => ({ shape: t.shape, data: Array.from(t.dataSync()) });
process.stdout.write(JSON.stringify({ info, messages, y: out(y), dx: out(dx), dw: out(dw) }));
// No process.exit(): the process must end on its own.
`;

interface ChildResult {
  info: { name: string; threads: number };
  messages: string[];
  y: { shape: number[]; data: number[] };
  dx: { shape: number[]; data: number[] };
  dw: { shape: number[]; data: number[] };
}

async function runChild(threads: number, timeoutMs?: number): Promise<ChildResult> {
  const out = await runTsChild(CHILD, [String(threads), ...(timeoutMs === undefined ? [] : [String(timeoutMs)])], {
    cwd: pkgDir,
    timeoutMs: 90_000,
    name: `child with ${threads} thread(s)`,
  });
  return JSON.parse(out) as ChildResult;
}

describe('enableWasmThreads (Node)', () => {
  it('runs a conv and its gradients on 2 threads with the results of 1 thread, and the process exits by itself', async () => {
    const one = await runChild(1);
    const two = await runChild(2);
    expect(one.info).toMatchObject({ name: 'wasm', threads: 1 });
    expect(two.info).toMatchObject({ name: 'wasm', threads: 2 });
    expect(two.messages).toEqual(['ragan: using wasm (2 threads)']);
    await initBackend({ backend: 'cpu', quiet: true });
    for (const k of ['y', 'dx', 'dw'] as const) {
      tf.tidy(() => expectTensorsClose(tf.tensor(two[k].data, two[k].shape), tf.tensor(one[k].data, one[k].shape), 1e-5));
    }
  });

  it('falls back to 1 thread with a message when the threaded backend does not start in time', async () => {
    const r = await runChild(2, 1);
    expect(r.info).toMatchObject({ name: 'wasm', threads: 1 });
    expect(r.messages[0]).toMatch(/wasm threads unavailable \(the threaded wasm backend did not start within 1 ms\); using 1 thread/);
  });

  it('returns false with a message once wasm is already initialised, true for 1 thread', async () => {
    await initBackend({ backend: 'wasm', quiet: true });
    const lines: string[] = [];
    expect(await enableWasmThreads(2, { log: (l) => lines.push(l) })).toBe(false);
    expect(lines).toEqual(['ragan: the wasm backend was already initialised with 1 thread(s); call enableWasmThreads before initBackend']);
    expect(await enableWasmThreads(1)).toBe(true);
  });
});
