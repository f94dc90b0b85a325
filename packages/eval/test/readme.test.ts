import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');

it('the first ts block of the README runs as written', async () => {
  const readme = readFileSync(join(pkgDir, 'README.md'), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(block, 'a ```ts block in packages/eval/README.md').toBeDefined();
  const file = join(pkgDir, '.readme-snippet.test-run.ts');
  writeFileSync(file, block!);
  try {
    const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
    const { stdout } = await promisify(execFile)(process.execPath, [tsxCli, '--conditions=@ragan/source', file], { cwd: pkgDir, timeout: 240_000 });
    expect(stdout).toMatch(/RAGAN\.ts evaluation: baseline: random/);
    expect(stdout).toMatch(/70\+ +3 /);
    expect(stdout).toMatch(/FID 2\.000000/);
  } finally {
    rmSync(file, { force: true });
  }
}, 300_000);
