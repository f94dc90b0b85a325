import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runReadmeSnippet } from '@ragan/test-utils/readme';
import { expect, it } from 'vitest';
import { NO_UTKFACE } from '../src/testing/utkface.js';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');

// The snippet reads UTKFace from ../shared, as a user with the data set would.
it.skipIf(NO_UTKFACE)(
  'the first ts block of the README runs as written (prepare 200 UTKFace faces, one batch, a cursor)',
  async () => {
    const { stdout } = await runReadmeSnippet(pkgDir, { timeout: 120_000 });
    expect(stdout).toMatch(/kept 200, skipped 0; masks: \{ parsing: 0, landmarks: 0, segmentation: 0, prior: 200 \}/);
    expect(stdout).toMatch(/images \[ 8, 64, 64, 3 \] masks \[ 8, 64, 64, 1 \] groups \[/);
    expect(stdout).toMatch(/cursor \{"version":1,"epoch":0,"position":8,"rng":\[\d+,\d+,\d+,\d+\],"fingerprint":"[0-9a-f]{16}"\}/);
  },
  180_000,
);
