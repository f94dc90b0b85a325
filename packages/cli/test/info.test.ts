import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

const ragan = (a: string[], env: Record<string, string> = {}) => runCli(a, { env });

describe('ragan info', () => {
  it('lists versions and backends, says which would be used and how to get the GPU one', async () => {
    const r = await ragan(['info', '--json']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout) as {
      versions: Record<string, string>;
      backends: Array<{ name: string; available: boolean; reason?: string }>;
      wouldUse: string;
    };
    expect(info.versions['@tensorflow/tfjs']).toBe('4.22.0');
    expect(info.backends.map((b) => b.name)).toEqual(['tensorflow-gpu', 'tensorflow', 'webgpu', 'webgl', 'wasm', 'cpu']);
    const byName = Object.fromEntries(info.backends.map((b) => [b.name, b]));
    // tfjs-node(-gpu) are installed as optional deps here but their libtensorflow download failed
    expect(byName['tensorflow-gpu']!.available).toBe(false);
    expect(byName['tensorflow-gpu']!.reason).toBeTruthy();
    expect(byName.wasm!.available).toBe(true);
    expect(info.wouldUse).toBe('wasm');
    // onnxruntime-node is an optional dependency of the cli, installed here
    expect((info as unknown as { onnxRuntime: unknown }).onnxRuntime).toEqual({
      available: true,
      version: expect.stringMatching(/^\d+\.\d+\.\d+$/),
      trainingConvolutions: true,
    });

    const text = await ragan(['info']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/Would use: wasm/);
    expect(text.stdout).toMatch(/tfjs-node-gpu/);
    expect(text.stdout).toMatch(/✓ onnxruntime-node \d+\.\d+\.\d+: runs the generator/);
    expect(text.stdout).toMatch(/✓ and the convolutions of wasm training \(--conv-runtime\)/);
  }, 180_000);

  it('honours RAGAN_BACKEND', async () => {
    const r = await ragan(['info', '--json'], { RAGAN_BACKEND: 'cpu' });
    expect(JSON.parse(r.stdout).wouldUse).toBe('cpu');
  }, 180_000);

  it('unknown commands fail with usage help and a non-zero exit', async () => {
    const r = await ragan(['frobnicate']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unknown command/);
  }, 180_000);
});
