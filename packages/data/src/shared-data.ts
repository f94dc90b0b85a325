import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * Locates the project's read-only `shared/` folder (UTKFace crops etc.), which sits beside the
 * repository checkout. `RAGAN_SHARED` overrides. Used by tests, benchmarks and examples; the data is
 * never copied into the repository (licence).
 */
export function sharedDataDir(start: string = process.cwd()): string | undefined {
  if (process.env.RAGAN_SHARED) return resolve(process.env.RAGAN_SHARED);
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) {
      const shared = resolve(dir, '..', 'shared');
      return existsSync(shared) ? shared : undefined;
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}
