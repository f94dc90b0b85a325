import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const bin = join(dirname(fileURLToPath(import.meta.url)), '../src/bin.ts');
const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');

async function ragan(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [tsxCli, '--conditions=@ragan/source', bin, ...args], {
      env: { ...process.env, RAGAN_BACKEND: '', ...env },
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('ragan info', () => {
  it('lists versions and backends, says which would be used and how to get the GPU one', async () => {
    const r = await ragan(['info', '--json']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout) as { versions: Record<string, string>; backends: Array<{ name: string; available: boolean; reason?: string }>; wouldUse: string };
    expect(info.versions['@tensorflow/tfjs']).toBe('4.22.0');
    expect(info.backends.map((b) => b.name)).toEqual(['tensorflow-gpu', 'tensorflow', 'webgpu', 'webgl', 'wasm', 'cpu']);
    const byName = Object.fromEntries(info.backends.map((b) => [b.name, b]));
    // tfjs-node(-gpu) are installed as optional deps here but their libtensorflow download failed
    expect(byName['tensorflow-gpu']!.available).toBe(false);
    expect(byName['tensorflow-gpu']!.reason).toBeTruthy();
    expect(byName.wasm!.available).toBe(true);
    expect(info.wouldUse).toBe('wasm');

    const text = await ragan(['info']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/Would use: wasm/);
    expect(text.stdout).toMatch(/tfjs-node-gpu/);
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
