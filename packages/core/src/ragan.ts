import { resolveModelConfig, type ModelConfig, type PresetName } from './config/presets.js';
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
  // Same seed as the generator: the EMA copy starts equal to it.
  const emaGenerator = createGenerator(resolved, { seed });
  return {
    config: resolved,
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
