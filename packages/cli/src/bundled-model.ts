import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALIGNMENT_PRESETS, ConfigError, type FfhqAlignParams } from '@ragan/core';
import { UTKFACE_MODEL_NAME, utkfaceModelDir } from '@ragan/model-utkface/node';

/** Name of the pretrained model the CLI uses by default: @ragan/model-utkface's `utkface-tiny`. */
export const BUNDLED_MODEL_NAME = UTKFACE_MODEL_NAME;

/** The @ragan/cli package folder (found from this module, in src/ or in the built dist/). */
export function cliPackageDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === '@ragan/cli') return dir;
      } catch {
        // not ours; keep walking up
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the @ragan/cli package folder above this module');
    dir = up;
  }
}

/**
 * The pretrained model folder (manifest.json, generator.bin, MODEL_CARD.md, LICENSE) of the
 * @ragan/model-utkface package, a dependency of this one: what `ragan age`, `ragan demo` and
 * `ragan eval --model bundled` use by default. The weights were trained on UTKFace and carry its
 * non-commercial research-only licence (see the model card). Undefined when the folder is missing
 * (an installation that left it out).
 */
export function bundledModelDir(): string | undefined {
  const dir = utkfaceModelDir();
  return existsSync(join(dir, 'manifest.json')) ? dir : undefined;
}

/** `--model` as given, with `bundled` (or nothing) meaning the shipped model. */
export function resolveModelFlag(model: string | undefined): string | undefined {
  if (model === '') throw new ConfigError('--model', 'is empty; give a model folder, a training run, or leave it out for the bundled model');
  if (model === undefined || model === 'bundled') return bundledModelDir();
  return model;
}

/** Printed (stderr) whenever the bundled model is used without being asked for by name. */
export const BUNDLED_NOTICE = `using the bundled ${BUNDLED_MODEL_NAME} model (trained on UTKFace: non-commercial research use only; --model to use your own)`;

/** A model's framing by name: `ffhq-aging`, `utkface`, or `custom`. */
export function framingName(alignment: Required<FfhqAlignParams> | undefined): string {
  if (!alignment) return 'ffhq-aging';
  for (const [name, a] of Object.entries(ALIGNMENT_PRESETS)) {
    if (a.eyeToEyeScale === alignment.eyeToEyeScale && a.eyeToMouthScale === alignment.eyeToMouthScale && a.centreShift === alignment.centreShift) return name;
  }
  return 'custom';
}
