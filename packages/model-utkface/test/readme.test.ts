import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runReadmeSnippet } from '@ragan/test-utils/readme';
import { expect, it } from 'vitest';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');

it("the README's Node example runs as written (wasm, the package's generator, re-aged to 75)", async () => {
  expect(readFileSync(join(pkgDir, 'README.md'), 'utf8')).toContain("from '@ragan/model-utkface/node'");
  const { stdout, stderr } = await runReadmeSnippet(pkgDir);
  expect(stderr).toContain('using wasm');
  expect(stdout).toMatch(/loaded: 64 px, ffhq-aging-10/);
  const m = /re-aged face: \[ 1, 64, 64, 3 \] values from (-?[\d.]+) to (-?[\d.]+)/.exec(stdout);
  expect(m, stdout).not.toBeNull();
  expect(Number(m![1])).toBeGreaterThanOrEqual(-1);
  expect(Number(m![2])).toBeLessThanOrEqual(1);
}, 300_000);
