import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runReadmeSnippet } from '@ragan/test-utils/readme';
import { expect, it } from 'vitest';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');

it('the first ts block of the README runs as written', async () => {
  const { stdout } = await runReadmeSnippet(pkgDir);
  expect(stdout).toMatch(/RAGAN\.ts evaluation: baseline: random/);
  expect(stdout).toMatch(/70\+ +3 /);
  expect(stdout).toMatch(/FID 2\.000000/);
}, 300_000);
