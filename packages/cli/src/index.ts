import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { RaganError } from '@ragan/core';
import * as commands from './commands/index.js';
import { CLI_VERSION } from './version.js';
import { cliPackageDir } from './bundled-model.js';

export { CLI_VERSION };

/**
 * Until the packages are on npm (the changesets release, `pnpm release`), say how to get them: their
 * npm pages do not exist yet.
 */
const NOT_ON_NPM = `Not on npm yet. In a clone of the repository: pnpm install, then pnpm ragan <command>. In another
project: run pnpm pack:packages in the clone (it writes the packages to its packs/ folder), then
npm install CLONE/packs/*.tgz (the repository's README: "Using the packages in another project").`;

/** Builds the `ragan` program. Each command lives in commands/<name>.ts and only wires library calls. */
export function buildProgram(): Command {
  const program = new Command('ragan')
    .description('RAGAN.ts — face age transformation (Re-Aging GAN) on TensorFlow.js')
    .version(CLI_VERSION, '-v, --version')
    .option('--debug', 'print stack traces on errors')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Backends: set --backend or RAGAN_BACKEND to tensorflow-gpu | tensorflow | wasm | cpu (default: auto,
the fastest one installed). \`ragan info\` shows what is available here.
Docs: ${join(cliPackageDir(), 'README.md')}, and README.md and docs/ in the repository.
${NOT_ON_NPM}`,
    );
  for (const register of Object.values(commands)) register(program);
  return program;
}

/** Runs the CLI and returns the exit code. A RaganError prints as one line; stacks only with --debug. */
export async function run(argv: string[]): Promise<number> {
  const program = buildProgram().exitOverride();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    const debug = argv.includes('--debug');
    if (RaganError.isInstance(e) && !debug) {
      process.stderr.write(`ragan: ${e.message}\n`);
      return 1;
    }
    const err = e as Error;
    process.stderr.write(debug ? `${err.stack ?? err}\n` : `ragan: ${err.message ?? err} (run with --debug for the stack trace)\n`);
    return 1;
  }
}
