import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');

it("the README's Node example runs as written (wasm, the package's generator, re-aged to 75)", async () => {
  const readme = readFileSync(join(pkgDir, 'README.md'), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(block, 'a ```ts block in packages/model-utkface/README.md').toBeDefined();
  expect(block).toContain("from '@ragan/model-utkface/node'");
  const file = join(pkgDir, '.readme-snippet.test-run.ts');
  writeFileSync(file, block!);
  try {
    const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
    // the source condition lets this run without a build; the built package runs the same code
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [tsxCli, '--conditions=@ragan/source', file], { cwd: pkgDir, timeout: 240_000 });
    expect(stderr).toContain('using wasm');
    expect(stdout).toMatch(/loaded: 64 px, ffhq-aging-10/);
    const m = /re-aged face: \[ 1, 64, 64, 3 \] values from (-?[\d.]+) to (-?[\d.]+)/.exec(stdout);
    expect(m, stdout).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(-1);
    expect(Number(m![2])).toBeLessThanOrEqual(1);
  } finally {
    rmSync(file, { force: true });
  }
}, 300_000);
