import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runReadmeSnippet } from '@ragan/test-utils/readme';
import { expect, it } from 'vitest';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');

it('the first ts block of the README runs as written (wasm, tiny model, one step, re-age)', async () => {
  const { stdout, stderr } = await runReadmeSnippet(pkgDir);
  expect(stderr).toContain('using wasm');
  expect(stdout).toMatch(/losses after one step: \{[\s\S]*d_adv[\s\S]*g_rec/);
  expect(stdout).toMatch(/re-aged image: \[ 1, 64, 64, 3 \] mean change \d/);
}, 300_000);
