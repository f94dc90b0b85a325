import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');

it('the first ts block of the README runs as written (wasm, tiny model, one step, re-age)', async () => {
  const readme = readFileSync(join(pkgDir, 'README.md'), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(block, 'a ```ts block in packages/core/README.md').toBeDefined();
  const file = join(pkgDir, '.readme-snippet.test-run.ts');
  writeFileSync(file, block!);
  try {
    const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
    // the source condition lets this run without a build; `pnpm exec tsx` on the built package is the same code
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [tsxCli, '--conditions=@ragan/source', file], { cwd: pkgDir, timeout: 240_000 });
    expect(stderr).toContain('using wasm');
    expect(stdout).toMatch(/losses after one step: \{[\s\S]*d_adv[\s\S]*g_rec/);
    expect(stdout).toMatch(/re-aged image: \[ 1, 64, 64, 3 \] mean change \d/);
  } finally {
    rmSync(file, { force: true });
  }
}, 300_000);
