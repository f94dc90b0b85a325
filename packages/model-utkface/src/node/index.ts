// @ragan/model-utkface/node: the model folder as a path, and the generator loaded from it (Node only).
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadGenerator, type Generator, type ModelManifest } from '@ragan/core';
import { fsStore } from '@ragan/core/node';
import { utkfaceModelUrl } from '../index.js';

export { UTKFACE_MODEL_NAME, utkfaceModelUrl } from '../index.js';

/** Absolute path of the package's model folder (manifest.json, generator.bin, MODEL_CARD.md, LICENSE), no trailing separator. */
export function utkfaceModelDir(): string {
  return resolve(fileURLToPath(utkfaceModelUrl()));
}

/**
 * Loads the utkface-tiny generator through core's `loadGenerator` over `fsStore`: the manifest is
 * validated and every weight file's size and sha256 checked. Call it after `initBackend` (core) has set
 * a backend. The caller owns the generator: `generator.dispose()` frees its weights.
 *
 * The weights were trained on UTKFace and are for non-commercial research use only (model/LICENSE).
 */
export async function loadUtkfaceGenerator(): Promise<{ generator: Generator; manifest: ModelManifest }> {
  return loadGenerator(fsStore(utkfaceModelDir()));
}
