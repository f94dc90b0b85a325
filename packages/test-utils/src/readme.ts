import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Runs the first ```ts block of `<pkgDir>/README.md` as a user would: written to a file in the package
 * folder and run with tsx (the `@ragan/source` condition, so that no build is needed; the built package
 * runs the same code). Throws when the README has no such block or the snippet fails; the file is removed.
 */
export async function runReadmeSnippet(pkgDir: string, opts: { timeout?: number } = {}): Promise<{ stdout: string; stderr: string }> {
  const readme = readFileSync(join(pkgDir, 'README.md'), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (block === undefined) throw new Error(`${join(pkgDir, 'README.md')} has no \`\`\`ts block`);
  const file = join(pkgDir, '.readme-snippet.test-run.ts');
  writeFileSync(file, block);
  try {
    const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
    return await promisify(execFile)(process.execPath, [tsxCli, '--conditions=@ragan/source', file], { cwd: pkgDir, timeout: opts.timeout ?? 240_000 });
  } finally {
    rmSync(file, { force: true });
  }
}
