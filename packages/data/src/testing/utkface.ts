/**
 * Where tests find UTKFace, for the few that need it: its real ages, its own framing, the whole set.
 * UTKFace is for non-commercial research only and never enters the repository: it sits in the read-only
 * shared/ folder beside the checkout, or wherever RAGAN_SHARED points. Without it those tests skip
 * (`describe.skipIf(NO_UTKFACE)`) and the run says so once (utkface-setup.ts); under CI that is a
 * failure instead. Tests that only need real faces use face-api's sample photos
 * (`packages/core/test/sample-faces.ts`), which come with our dependencies.
 * Node built-ins only: the vitest configs load this through their global setup.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is packages/data/src/testing/utkface.ts). */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

/** UTKFace's folder (crop_part1/ and UTKFace/ inside): in RAGAN_SHARED, else in shared/ beside the checkout. */
export function utkFaceRoot(): string {
  const shared = process.env.RAGAN_SHARED ? resolve(process.env.RAGAN_SHARED) : resolve(REPO_ROOT, '..', 'shared');
  return join(shared, 'data/utkface');
}

/** UTKFace's aligned crops (crop_part1), or undefined where they are not. */
export function utkFaceCrops(): string | undefined {
  const dir = join(utkFaceRoot(), 'crop_part1');
  return existsSync(dir) ? dir : undefined;
}

/** True where UTKFace's crops are missing: `describe.skipIf(NO_UTKFACE)` for the tests that need them. */
export const NO_UTKFACE = utkFaceCrops() === undefined;

/** The crops folder, for code that runs only when they are there (throws, naming the folder, otherwise). */
export function requireUtkFaceCrops(): string {
  const dir = utkFaceCrops();
  if (!dir) throw new Error(`UTKFace crops not found at ${join(utkFaceRoot(), 'crop_part1')}; set RAGAN_SHARED to the folder holding data/utkface/`);
  return dir;
}

/** Is this a CI run? `CI=true` (or any value but 0/false), as CI services set it. */
export function isCi(): boolean {
  const v = process.env.CI?.trim().toLowerCase();
  return v !== undefined && v !== '' && v !== '0' && v !== 'false';
}

/** The one line a run without UTKFace prints (after vitest's summary). */
export function utkFaceSkipNotice(): string {
  return (
    `Skipped the tests that need UTKFace (no ${join(utkFaceRoot(), 'crop_part1')}): to run them, put UTKFace's ` +
    'crop_part1/ and UTKFace/ folders in data/utkface/ of a shared/ folder beside the checkout, or set RAGAN_SHARED to such a shared/ folder.'
  );
}
