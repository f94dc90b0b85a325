/**
 * vitest global setup (the root config and this package's): says once per
 * run, after the summary, that the tests needing UTKFace were skipped and what would run them. Under CI
 * a missing UTKFace fails the run before any test, so that CI cannot pass by skipping them.
 */
import { isCi, utkFaceCrops, utkFaceSkipNotice } from './utkface.js';

export default function setup(): (() => void) | undefined {
  // The root config and the data package's both list this file: one check per run.
  if (process.env.RAGAN_UTKFACE_CHECKED) return undefined;
  process.env.RAGAN_UTKFACE_CHECKED = '1';
  if (utkFaceCrops()) return undefined;
  if (isCi()) throw new Error(`CI must run every test. ${utkFaceSkipNotice()}`);
  return () => {
    process.stdout.write(`\n${utkFaceSkipNotice()}\n`);
  };
}
