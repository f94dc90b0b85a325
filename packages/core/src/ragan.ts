import { resolveModelConfig, type ModelConfig, type PresetName } from './config/presets.js';
import { ModelLoadError } from './errors/index.js';
import { loadModelFolder, readManifest, saveModelFolder } from './io/model-folder.js';
import type { ModelManifest, StorageDtype } from './io/manifest.js';
import type { ModelStore } from './io/store.js';
import { copyWeights } from './training/adam.js';
import { createAgeClassifier, type AgeClassifier } from './models/age-classifier.js';
import { createDiscriminator, type Discriminator } from './models/discriminator.js';
import { createGenerator, type Generator } from './models/generator.js';

/** Everything RAGAN trains: G, D, the auxiliary age classifier C, and G's moving average (inference). */
export interface RaganModel {
  readonly config: ModelConfig;
  readonly generator: Generator;
  readonly discriminator: Discriminator;
  readonly classifier: AgeClassifier;
  /** EMA of the generator's weights (decay 0.999 in training); what inference and export use. */
  readonly emaGenerator: Generator;
  /** Modules by name, as stored in model folders. */
  modules(): Record<'generator' | 'discriminator' | 'classifier' | 'ema_generator', Generator | Discriminator | AgeClassifier>;
  dispose(): void;
}

/**
 * Builds a full RAGAN model from a preset name or a (partial) config, validated. Weights are
 * deterministic for a seed. The caller owns the model and calls dispose().
 */
export function createRagan(config: PresetName | (Partial<ModelConfig> & { preset?: PresetName }) = 'tiny', opts: { seed?: number } = {}): RaganModel {
  const resolved = resolveModelConfig(config);
  const seed = opts.seed ?? 0;
  const generator = createGenerator(resolved, { seed });
  const discriminator = createDiscriminator(resolved, { seed: seed + 1 });
  const classifier = createAgeClassifier(resolved, { seed: seed + 2 });
  // Same seed as the generator: the EMA copy starts equal to it. Its own name keeps weight names unique
  // when G and its EMA are saved in one checkpoint.
  const emaGenerator = createGenerator(resolved, { seed, name: 'ema_generator' });
  return assemble(resolved, { generator, discriminator, classifier, emaGenerator });
}

function assemble(config: ModelConfig, parts: Pick<RaganModel, 'generator' | 'discriminator' | 'classifier' | 'emaGenerator'>): RaganModel {
  const { generator, discriminator, classifier, emaGenerator } = parts;
  return {
    config,
    generator,
    discriminator,
    classifier,
    emaGenerator,
    modules: () => ({ generator, discriminator, classifier, ema_generator: emaGenerator }),
    dispose() {
      generator.dispose();
      discriminator.dispose();
      classifier.dispose();
      emaGenerator.dispose();
    },
  };
}

/**
 * The same model with another auxiliary age classifier (built for `config`, whose other fields are the
 * model's): G, D and the EMA generator are kept, the old classifier is disposed. The new model owns
 * `classifier`; use it instead of `model` from here on.
 */
export function withClassifier(model: RaganModel, config: ModelConfig, classifier: AgeClassifier): RaganModel {
  model.classifier.dispose();
  return assemble(config, { generator: model.generator, discriminator: model.discriminator, classifier, emaGenerator: model.emaGenerator });
}

const RAGAN_MODULES = ['generator', 'discriminator', 'classifier', 'ema_generator'] as const;

/** Saves all four networks of a RaganModel as one model folder (a training checkpoint's weights). */
export async function saveRaganModel(store: ModelStore, model: RaganModel, opts: { extra?: Record<string, unknown> } = {}): Promise<ModelManifest> {
  return saveModelFolder(store, { config: model.config, modules: model.modules(), ...(opts.extra ? { extra: opts.extra } : {}) });
}

/** Loads a folder written by saveRaganModel (checksums, shapes and config validated). */
export async function loadRaganModel(store: ModelStore): Promise<{ model: RaganModel; manifest: ModelManifest }> {
  let built: RaganModel | undefined;
  const { manifest } = await loadModelFolder(store, {
    modules: [...RAGAN_MODULES],
    create: (config) => {
      built = createRagan({ ...config });
      return built.modules();
    },
  });
  return { model: built!, manifest };
}

/**
 * Writes an inference model folder: one `generator` module holding the given generator's weights (pass
 * the EMA generator), optionally as float16. This is what `ragan age` and the browser load.
 */
export async function exportGenerator(
  store: ModelStore,
  generator: Generator,
  opts: {
    dtype?: StorageDtype;
    extra?: Record<string, unknown>;
    /** Record how photos must be cropped for this model (its training data's framing) in the config. */
    alignment?: ModelConfig['alignment'];
  } = {},
): Promise<ModelManifest> {
  const out = createGenerator(generator.config, { name: 'generator' });
  const config = opts.alignment ? resolveModelConfig({ ...generator.config, alignment: opts.alignment }) : generator.config;
  try {
    copyWeights(out.weights(), generator.weights());
    return await saveModelFolder(store, { config, modules: { generator: out }, dtype: opts.dtype ?? 'float32', ...(opts.extra ? { extra: opts.extra } : {}) });
  } finally {
    out.dispose();
  }
}

/** Loads an inference model folder (written by exportGenerator) or the generator of a full checkpoint. */
export async function loadGenerator(store: ModelStore): Promise<{ generator: Generator; manifest: ModelManifest }> {
  const head = await readManifest(store);
  const which = head.modules.includes('ema_generator') ? 'ema_generator' : 'generator';
  if (!head.modules.includes(which)) throw new ModelLoadError(store.describe(), `the model folder holds ${head.modules.join(', ')}, but no generator`);
  let gen: Generator | undefined;
  const { manifest } = await loadModelFolder(store, {
    modules: [which],
    create: (config) => {
      gen = createGenerator(config, { name: which });
      return { [which]: gen };
    },
  });
  return { generator: gen!, manifest };
}
