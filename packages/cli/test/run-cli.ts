import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The CLI's entry point, run from source (no build needed). */
export const CLI_BIN = join(dirname(fileURLToPath(import.meta.url)), '../src/bin.ts');

// `node --import tsx` rather than the tsx CLI, which forks a second node: one process, so signals
// (and kill -9) reach the CLI itself.
const tsxLoader = createRequire(import.meta.url).resolve('tsx');

/** Node arguments that run `ragan …args`. */
export function cliArgs(args: readonly string[]): string[] {
  return ['--import', tsxLoader, '--conditions=@ragan/source', CLI_BIN, ...args];
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `ragan …args` in a child process and returns its exit code and output. `backend` sets
 * RAGAN_BACKEND ('' = auto), `env` adds variables.
 */
export async function runCli(args: readonly string[], opts: { backend?: string; env?: Record<string, string>; timeout?: number } = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, cliArgs(args), {
      env: { ...process.env, RAGAN_BACKEND: opts.backend ?? '', ...opts.env },
      timeout: opts.timeout ?? 300_000,
      maxBuffer: 32 << 20,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}
