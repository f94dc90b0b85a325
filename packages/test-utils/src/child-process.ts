/**
 * Runs a TypeScript module source in a fresh Node process (through tsx), for tests of what happens once
 * per process (the wasm backend's threads start when it initialises). The child must exit by itself:
 * idle threads that keep it alive fail the test at the timeout.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

/** A file URL for a path, to import it from the child's source. */
export const fileUrl = (p: string): string => pathToFileURL(p).href;

/**
 * A resolver from the calling module (pass `import.meta.url`): its package's dependencies and
 * devDependencies, e.g. `@tensorflow/tfjs`, for the child to import the very same copy.
 */
export const resolverFrom =
  (metaUrl: string) =>
  (specifier: string): string =>
    createRequire(metaUrl).resolve(specifier);

/**
 * Runs `source` as an ES module with `args` in `opts.cwd` (the calling package's folder); resolves its
 * stdout, rejects with its stderr.
 */
export function runTsChild(source: string, args: string[] = [], opts: { cwd: string; timeoutMs?: number; name?: string }): Promise<string> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const dir = mkdtempSync(path.join(tmpdir(), 'ragan-child-'));
  const script = path.join(dir, 'child.mts');
  writeFileSync(script, source);
  return new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', fileUrl(require.resolve('tsx')), script, ...args],
      { cwd: opts.cwd, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const how = err.killed ? `did not exit by itself (killed after ${Math.round(timeoutMs / 1000)} s)` : `failed (${err.code})`;
        reject(new Error(`${opts.name ?? 'child'} ${how}\n${stderr.slice(-4000)}`));
      },
    );
  }).finally(() => rmSync(dir, { recursive: true, force: true }));
}
