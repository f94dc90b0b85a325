import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError } from '@ragan/core';
import { writeFileAtomic } from '@ragan/core/node';

/**
 * Writes an output file with the project's one atomic write (`@ragan/core/node`: temp file, fsync,
 * rename, fsync of the folder), creating its folder; a ConfigError naming `flag` on failure.
 */
export async function writeAtomic(path: string, data: Uint8Array | string, flag = '--out'): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, data);
  } catch (e) {
    throw new ConfigError(flag, `cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}
