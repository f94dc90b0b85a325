import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runReadmeSnippet } from '@ragan/test-utils/readme';
import { expect, it } from 'vitest';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');

it('the first ts block of the README runs as written (wasm, a convolution and both its gradients)', async () => {
  const { stdout, stderr } = await runReadmeSnippet(pkgDir);
  expect(stderr).toContain('using wasm');
  expect(stdout).toContain('backend: wasm gradients: [ 1, 32, 32, 64 ] [ 3, 3, 64, 64 ]');
  expect(stdout).toMatch(/Winograd calls: \{/);
}, 300_000);
