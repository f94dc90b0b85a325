import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fileUrl, runTsChild } from '@ragan/test-utils/child-process';

// V8 flags are per process: the check runs in a child, so that this test process keeps Node's defaults.
const here = path.dirname(fileURLToPath(import.meta.url));
const pkgDir = path.join(here, '..', '..');
const CHILD = `
const simd = await import(${JSON.stringify(fileUrl(path.join(here, '..', 'wasm-gemm-simd.ts')))});
const { enableWasmRelaxedSimd, initNodeBackend } = await import(${JSON.stringify(fileUrl(path.join(here, 'index.ts')))});
const { wasmGemm } = await import(${JSON.stringify(fileUrl(path.join(here, '..', 'wasm-gemm.ts')))});
const before = simd.relaxedSimdSupported();
const enabled = enableWasmRelaxedSimd();
// the fused product against the plain one, on one memory
const memory = new WebAssembly.Memory({ initial: 64 });
const fused = simd.gemmSimd(memory);
const plain = new WebAssembly.Instance(new WebAssembly.Module(simd.gemmModuleBytes(false, false)), { env: { memory } }).exports;
const [M, N, K] = [9, 16, 300]; // a remainder row block, two panels, two bands of k
const f = new Float32Array(memory.buffer);
const a = 0, b = 4 * M * K, bp = b + 4 * K * N, c1 = bp + 4 * K * N, c2 = c1 + 4 * M * N;
for (let i = 0; i < M * K + K * N; i++) f[i] = Math.sin(i * 0.37) * (1 + (i % 7));
fused.pack(b, bp, K, N);
fused.gemm(a, bp, c1, M, N, K, 4 * K);
plain.gemm(a, bp, c2, M, N, K, 4 * K);
let worst = 0, scale = 0;
for (let i = 0; i < M * N; i++) { worst = Math.max(worst, Math.abs(f[c1 / 4 + i] - f[c2 / 4 + i])); scale = Math.max(scale, Math.abs(f[c2 / 4 + i])); }
// a float64 reference for one entry
let ref = 0;
for (let k = 0; k < K; k++) ref += f[3 * K + k] * f[b / 4 + k * N + 5];
const info = await initNodeBackend({ backend: 'wasm', quiet: true });
const refErr = Math.abs(f[c1 / 4 + 3 * N + 5] - ref) / scale;
process.stdout.write(JSON.stringify({ before, enabled, fma: fused.fma, rel: worst / scale, refErr, backend: info.name, gemmFma: wasmGemm()?.fma ?? null }));
`;

describe('WebAssembly relaxed SIMD (fused multiply-adds in our matrix product)', () => {
  it('enableWasmRelaxedSimd turns it on in Node 20, the product then fuses and matches the plain one, and initNodeBackend installs it', async () => {
    const out = JSON.parse(await runTsChild(CHILD, [], { cwd: pkgDir, name: 'relaxed SIMD child' })) as Record<string, unknown>;
    // Node 20 has it behind a flag (false before), Node 22+ by default (true)
    expect(typeof out.before).toBe('boolean');
    expect(out.enabled).toBe(true);
    expect(out.fma).toBe(true);
    expect(out.rel as number).toBeLessThan(1e-5); // one rounding per step instead of two
    expect(out.refErr as number).toBeLessThan(1e-5);
    expect(out.backend).toBe('wasm');
    expect(out.gemmFma).toBe(true);
  });

  it('is not switched on by importing @ragan/backend/node (nothing happens at import)', async () => {
    await import('./index.js');
    const { relaxedSimdSupported } = await import('../wasm-gemm-simd.js');
    // Node 20 has it only once asked (newer Node is expected to have it by default: not checked here)
    if (Number(process.versions.node.split('.')[0]) === 20) expect(relaxedSimdSupported()).toBe(false);
  });
});
