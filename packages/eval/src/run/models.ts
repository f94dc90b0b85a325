import * as tf from '@tensorflow/tfjs';
import {
  ConfigError,
  MANIFEST_FILE,
  ModelLoadError,
  createGenerator,
  loadModelFolder,
  readManifest,
  reage,
  resolveModelConfig,
  sha256Hex,
  type Generator,
  type ModelStore,
} from '@ragan/core';
import type { EvalModel } from '../interfaces.js';

/** The names `ragan eval --model` accepts instead of a folder. */
export const BASELINES = ['identity', 'random'] as const;
export type BaselineName = (typeof BASELINES)[number];

export function isBaselineName(s: string): s is BaselineName {
  return (BASELINES as readonly string[]).includes(s);
}

/**
 * `identity`: returns the input unchanged. The floor for age (it only "hits" the faces' own group,
 * which is never a target) and the ceiling for identity and background.
 */
export function identityBaseline(opts: { ageGroups?: string } = {}): EvalModel {
  return {
    name: 'baseline: identity',
    kind: 'baseline',
    sha256: 'baseline:identity',
    ageGroups: opts.ageGroups ?? 'ffhq-aging-10',
    resolution: undefined,
    generate: (images) => tf.clone(images),
    dispose: () => {},
  };
}

/**
 * `random`: an untrained `tiny` generator with seeded weights, at the data's resolution. What a model
 * scores before it learns anything; its label records the seed and resolution, which fix its weights.
 */
export function randomBaseline(opts: { seed?: number; resolution?: number; ageGroups?: string } = {}): EvalModel {
  const seed = opts.seed ?? 0;
  const config = resolveModelConfig({ preset: 'tiny', resolution: opts.resolution ?? 64, ageGroups: (opts.ageGroups ?? 'ffhq-aging-10') as 'ffhq-aging-10' });
  const generator = createGenerator(config, { seed });
  return {
    name: 'baseline: random (untrained tiny)',
    kind: 'baseline',
    sha256: `baseline:random:tiny:res=${config.resolution}:seed=${seed}`,
    ageGroups: config.ageGroups,
    resolution: config.resolution,
    details: { preset: 'tiny', seed, config },
    generator,
    generate: (images, masks, group) => reage(generator, images, masks, { group }),
    dispose: () => generator.dispose(),
  };
}

/**
 * SHA-256 identifying a model folder: of manifest.json's bytes followed by every weight file's bytes,
 * in the manifest's order. (The manifest already lists each file's hash; hashing the bytes too means
 * the figure can be checked with nothing but sha256sum: `cat manifest.json *.bin | sha256sum` when the
 * files sort in manifest order.)
 */
export async function modelFolderSha256(store: ModelStore): Promise<string> {
  const manifest = await readManifest(store);
  const parts = [await store.read(MANIFEST_FILE)];
  for (const f of manifest.weightFiles) parts.push(await store.read(f.path, { maxBytes: f.bytes }));
  const all = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.byteLength;
  }
  return sha256Hex(all);
}

/**
 * Loads the generator of a model folder for evaluation: the EMA generator when the folder has one
 * (what inference uses), else `generator`. Throws ModelLoadError naming the folder when neither is there
 * or the folder is refused (checksums, sizes, versions; see loadModelFolder).
 */
export async function loadEvalModel(store: ModelStore, opts: { name?: string } = {}): Promise<EvalModel> {
  const where = store.describe();
  const manifest = await readManifest(store);
  const module = manifest.modules.includes('ema_generator') ? 'ema_generator' : manifest.modules.includes('generator') ? 'generator' : undefined;
  if (!module)
    throw new ModelLoadError(
      `${where}/${MANIFEST_FILE}`,
      `has no generator (modules: ${manifest.modules.join(', ')}); pass a folder saved by training or \`ragan export\``,
    );
  const sha256 = await modelFolderSha256(store);
  const loaded = await loadModelFolder(store, {
    modules: [module],
    create: (c, names) => Object.fromEntries(names.map((n) => [n, createGenerator(c, { name: n })])),
  });
  const generator = loaded.modules[module] as Generator;
  const step = manifest.extra?.step;
  return {
    name: opts.name ?? where.split(/[\\/]/).filter(Boolean).pop() ?? where,
    kind: 'model',
    sha256,
    ageGroups: loaded.config.ageGroups,
    resolution: loaded.config.resolution,
    details: { module, packageVersion: manifest.packageVersion, config: loaded.config, ...(step !== undefined ? { step } : {}) },
    generator,
    generate: (images, masks, group) => reage(generator, images, masks, { group }),
    dispose: () => generator.dispose(),
  };
}

/** Throws ConfigError unless model and dataset agree on groups and image size. */
export function checkModelFitsData(model: EvalModel, data: { ageGroups: string; resolution: number; name: string }): void {
  if (model.ageGroups !== data.ageGroups) {
    throw new ConfigError(
      'ageGroups',
      `the model is trained for the age groups "${model.ageGroups}" but the dataset ${data.name} is labelled with "${data.ageGroups}"`,
    );
  }
  if (model.resolution !== undefined && model.resolution !== data.resolution) {
    throw new ConfigError(
      'resolution',
      `the model takes ${model.resolution}×${model.resolution} images but the dataset ${data.name} has ${data.resolution}×${data.resolution}; prepare a ` +
        `cache at --size ${model.resolution}`,
    );
  }
}
