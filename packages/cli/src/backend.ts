import { availableParallelism } from 'node:os';
import { Option } from 'commander';
import { initNodeBackend } from '@ragan/core/node';
import { ConfigError, type BackendInfo, type BackendName } from '@ragan/core';
import { importFromCli } from './import-module.js';

/**
 * wasm threads for inference (`age`, `demo`, `eval`, `align`): the machine's cores, at most 4, as
 * `ragan train` uses. Face detection and face-api's age and identity networks run on the tfjs backend
 * (the generator runs in ONNX Runtime, with threads of its own).
 */
export function defaultWasmThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

/** Help text of the `--threads` option of the inference commands. */
export const THREADS_HELP = `wasm backend: XNNPACK threads (default: the machine's cores, at most 4: ${defaultWasmThreads()} here; 1 turns threads off)`;

/** Parses `--threads`: a whole number from 1 to 64, or the default. */
/** `--backend <name>` for the commands that run a model: one definition, one help text, the same choices. */
export function backendOption(): Option {
  return new Option('--backend <name>', 'TensorFlow.js backend (default: RAGAN_BACKEND, else the fastest installed)').choices([
    'auto',
    'tensorflow-gpu',
    'tensorflow',
    'wasm',
    'cpu',
  ]);
}

export function parseThreads(value: string | undefined): number {
  if (value === undefined) return defaultWasmThreads();
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new ConfigError('--threads', `must be a whole number from 1 to 64, got "${value}"`);
  return n;
}

/**
 * The one line every command prints about its backend: which one runs, on how many threads, and when a
 * faster one is not in use, where to learn why. `ragan info` has the detail (each backend's reason, the
 * install commands); core's own messages would say all of it, in two long lines, on every command.
 */
export function backendLine(info: BackendInfo): string {
  const threads = info.threads ?? 1;
  const what =
    info.name === 'wasm'
      ? `wasm (${threads} thread${threads === 1 ? '' : 's'})`
      : info.name === 'cpu'
        ? 'cpu (plain JavaScript, slow)'
        : info.name === 'tensorflow-gpu'
          ? info.gpu === false
            ? 'tensorflow-gpu (no CUDA device found: on the CPU)'
            : 'tensorflow-gpu (CUDA)'
          : info.name === 'tensorflow'
            ? 'tensorflow (libtensorflow, CPU)'
            : info.name;
  const notes: string[] = [];
  const native = (['tensorflow-gpu', 'tensorflow'] as const).filter((n) => info.fellBackFrom?.includes(n));
  if (native.length > 0 && (info.name === 'wasm' || info.name === 'cpu')) {
    const broken = native.some((n) => !(info.reasons?.[n] ?? '').endsWith('is not installed'));
    notes.push(broken ? "tfjs-node's native binding did not load; `ragan info` says why and how to get native speed" : 'for native speed see `ragan info`');
  }
  return `ragan: using ${what}${notes.length > 0 ? `; ${notes.join('; ')}` : ''}`;
}

let printed: string | undefined;

/**
 * Initialises the backend for a command (--backend > RAGAN_BACKEND > auto; `threads` for wasm) and says
 * which one runs in one line on stderr (once per process).
 */
export async function initCliBackend(backend: string | undefined, opts: { threads?: number; log?: (line: string) => void } = {}): Promise<BackendInfo> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const info = await initNodeBackend({
    ...(backend ? { backend: backend as BackendName | 'auto' } : {}),
    importModule: importFromCli,
    ...(opts.threads ? { threads: opts.threads } : {}),
    quiet: true,
    log,
  });
  // (threads that cannot start are said by enableWasmThreads, through `log`)
  const line = backendLine(info);
  if (line !== printed) {
    printed = line;
    log(line);
  }
  return info;
}
