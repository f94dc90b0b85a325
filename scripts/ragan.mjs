#!/usr/bin/env node
/**
 * `pnpm ragan …`: runs the CLI from source (tsx's loader, the @ragan/source condition; nothing to build)
 * so that Ctrl-C works as with the built `ragan`: train and prepare save their work, then exit.
 *
 * Why a launcher: Ctrl-C in a terminal sends SIGINT to the whole foreground process group. Through
 * `tsx bin.ts` the CLI's node was tsx's child, and tsx relays the signal itself: when the child does not
 * acknowledge it within 30 ms (its main thread busy in a training step), tsx sends it again and then
 * SIGKILL, so the run died with exit 130 and nothing saved. And the `sh -c` pnpm runs a script through
 * dies of SIGINT, after which pnpm kills itself. Hence: the package.json script `exec`s this file (no
 * shell left in between), and this process runs the CLI in a child node of the same group, which gets
 * the terminal's SIGINT once, as it should. This process ignores SIGINT (pnpm forwards its own copy
 * here, which would be a second Ctrl-C, "exit now", to the CLI), relays SIGTERM and SIGHUP (sent to pnpm
 * alone, they reach the CLI only through us), and exits as the CLI does.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../packages/cli/src/bin.ts', import.meta.url));
const args = ['--import', import.meta.resolve('tsx'), '--conditions=@ragan/source', bin, ...process.argv.slice(2)];
const child = spawn(process.execPath, args, { stdio: 'inherit' });

const relayed = ['SIGTERM', 'SIGHUP'];
process.on('SIGINT', () => {});
for (const sig of relayed) process.on(sig, () => child.kill(sig));
child.on('error', (e) => {
  process.stderr.write(`ragan: cannot start node (${e.message})\n`);
  process.exitCode = 1;
});
child.on('exit', (code, signal) => {
  if (signal) {
    // die of the same signal, as a shell expects
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
    return;
  }
  process.exitCode = code ?? 1;
});
