import { initNodeBackend } from '@ragan/core/node';
import type { BackendInfo, BackendName } from '@ragan/core';
import { importFromCli } from './import-module.js';

/** Initialises the backend for a command: --backend > RAGAN_BACKEND > auto; optional wasm threads. */
export async function initCliBackend(backend: string | undefined, opts: { threads?: number } = {}): Promise<BackendInfo> {
  return initNodeBackend({
    ...(backend ? { backend: backend as BackendName | 'auto' } : {}),
    importModule: importFromCli,
    ...(opts.threads ? { threads: opts.threads } : {}),
  });
}
