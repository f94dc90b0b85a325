import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import type { BackendInfo } from '@ragan/core';
import { backendLine, defaultWasmThreads, parseThreads } from '../src/backend.js';
import { runCli } from './run-cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'ragan-cli-backend-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** What auto selection returns here: both tfjs-node packages installed, their libtensorflow download failed. */
const fellBack: BackendInfo = {
  name: 'wasm',
  requested: 'auto',
  threads: 2,
  fellBackFrom: ['tensorflow-gpu', 'tensorflow'],
  reasons: {
    'tensorflow-gpu':
      '@tensorflow/tfjs-node-gpu is installed but its native binding failed to load (The Node.js native addon module (tfjs_binding.node) can not be found)',
    tensorflow:
      '@tensorflow/tfjs-node is installed but its native binding failed to load (The Node.js native addon module (tfjs_binding.node) can not be found)',
  },
  hint: 'for native speed install @tensorflow/tfjs-node (CPU) or @tensorflow/tfjs-node-gpu (CUDA): see docs/backends.md',
};

describe('the backend line', () => {
  it('says the backend and its threads in one short line, pointing at `ragan info` for the native backends', () => {
    const line = backendLine(fellBack);
    expect(line).toBe("ragan: using wasm (2 threads); tfjs-node's native binding did not load; `ragan info` says why and how to get native speed");
    expect(line.length).toBeLessThan(140);
    const missing: BackendInfo = {
      ...fellBack,
      threads: 1,
      reasons: { 'tensorflow-gpu': '@tensorflow/tfjs-node-gpu is not installed', tensorflow: '@tensorflow/tfjs-node is not installed' },
    };
    expect(backendLine(missing)).toBe('ragan: using wasm (1 thread); for native speed see `ragan info`');
    expect(backendLine({ name: 'tensorflow', requested: 'auto', fellBackFrom: ['tensorflow-gpu'], reasons: fellBack.reasons })).toBe(
      'ragan: using tensorflow (libtensorflow, CPU)',
    );
    expect(backendLine({ name: 'cpu', requested: 'cpu', threads: 1 })).toBe('ragan: using cpu (plain JavaScript, slow)');
  });

  it("--threads: the machine's cores (at most 4) by default; a whole number from 1 to 64", () => {
    expect(parseThreads(undefined)).toBe(defaultWasmThreads());
    expect(defaultWasmThreads()).toBeGreaterThanOrEqual(1);
    expect(defaultWasmThreads()).toBeLessThanOrEqual(4);
    expect(parseThreads('1')).toBe(1);
    for (const bad of ['0', '1.5', 'two', '65']) expect(() => parseThreads(bad)).toThrow(/^--threads: must be a whole number from 1 to 64/);
  });

  it('a command prints the backend once, in one line, and nothing about tfjs_binding; inference uses the cores', async () => {
    // a face-less photo: align loads the backend and the detector, finds nothing and stops
    const grey = join(tmp, 'grey.png');
    writeFileSync(
      grey,
      await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 128, g: 128, b: 128 } } })
        .png()
        .toBuffer(),
    );
    const r = await runCli(['align', grey, '--out', join(tmp, 'out')]);
    expect(r.code).toBe(1);
    // all of stderr: the backend line, then the error
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^ragan: using \S+/), expect.stringMatching(/^ragan: .*grey\.png: no face found/)]);
    expect(r.stderr).not.toMatch(/tfjs_binding|for native speed install/);
    const threads = /^ragan: using wasm \((\d+) threads?\)/m.exec(r.stderr);
    if (threads) expect(Number(threads[1])).toBe(defaultWasmThreads());
    const bad = await runCli(['age', grey, '--to', '70+', '--out', join(tmp, 'x.png'), '--threads', '0']);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe('ragan: --threads: must be a whole number from 1 to 64, got "0"');
  }, 180_000);

  it("@ragan/backend's errors print as one line without a stack: an unavailable backend, an unknown RAGAN_BACKEND", async () => {
    const grey = join(tmp, 'grey-errors.png');
    writeFileSync(
      grey,
      await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 128, g: 128, b: 128 } } })
        .png()
        .toBuffer(),
    );
    const missing = await runCli(['align', grey, '--out', join(tmp, 'out-errors')], { backend: 'tensorflow' });
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^ragan: Backend 'tensorflow' is not available: .*docs\/backends\.md/)]);
    const unknown = await runCli(['align', grey, '--out', join(tmp, 'out-errors')], { backend: 'bogus' });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^ragan: RAGAN_BACKEND: unknown backend 'bogus'/)]);
  }, 180_000);
});
