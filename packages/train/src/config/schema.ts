import { z } from 'zod';
import { ConfigError, PRESETS, resolveModelConfig, type ModelConfig, type PresetName } from '@ragan/core';

/**
 * The training configuration (docs/model.md "Losses" and "Training" [ours] defaults). Files from users
 * are validated here; every error names the field (`losses.rec: must be ≥ 0`).
 */
export const TrainConfigSchema = z
  .object({
    preset: z.enum(['tiny', 'small', 'paper']).default('tiny'),
    /** Overrides of the preset's model sizes (ModelConfig fields). */
    model: z.record(z.string(), z.unknown()).default({}),
    /** Training cache (from `ragan prepare`); recorded so that `--resume` finds it. */
    data: z.string().min(1).optional(),
    steps: z.number().int().min(1).max(100_000_000).default(1000),
    batch: z.number().int().min(1).max(1024).default(4),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(1),
    backend: z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'),
    optimizer: z
      .object({
        lr: z.number().positive().max(1).default(1e-3),
        beta1: z.number().min(0).lt(1).default(0),
        beta2: z.number().min(0).lt(1).default(0.99),
        /**
         * Learning-rate multiplier of the style path (the age modulator's last dense layer and every
         * modulation affine; the spec's 0.01). May change on resume.
         */
        styleLrMultiplier: z.number().positive().max(1).default(0.01),
      })
      .strict()
      .default({ lr: 1e-3, beta1: 0, beta2: 0.99, styleLrMultiplier: 0.01 }),
    emaDecay: z.number().min(0).lt(1).default(0.999),
    /** Ramp the EMA decay up from the start: min(emaDecay, (1 + step) / (10 + step)). May change on resume. */
    emaWarmup: z.boolean().optional(),
    r1: z
      .object({ gamma: z.number().min(0).default(10), every: z.number().int().min(1).default(16) })
      .strict()
      .default({ gamma: 10, every: 16 }),
    losses: z
      .object({
        adv: z.number().min(0).default(1),
        age: z.number().min(0).default(1),
        rec: z.number().min(0).default(10),
        cyc: z.number().min(0).default(10),
        idFeature: z.number().min(0).default(1),
        idNetwork: z.number().min(0).default(1),
        /** Colour-cue loss [ours]: chroma change of x' in the face mask, after a 4×4 blur. */
        chroma: z.number().min(0).default(0),
        /** Brightness-cue loss [ours]: brightness change of x' in the face mask beyond 0.25, after a 4×4 blur. */
        brightness: z.number().min(0).default(0),
      })
      .strict()
      .default({ adv: 1, age: 1, rec: 10, cyc: 10, idFeature: 1, idNetwork: 1, chroma: 0, brightness: 0 }),
    /** Use face-api's 128-D face embedding for the identity-network loss. */
    identityNetwork: z.boolean().default(false),
    flip: z.boolean().default(true),
    /**
     * Draw each training sample's age group uniformly among the groups present, then a face of that
     * group (the sampler's `balanceGroups`): the rare young and old groups are then seen as real faces
     * as often as the 20-39s, by D's per-group branches too. Absent: faces in their data set's
     * proportions. May change on resume (the data order then starts a new stream from that step).
     */
    balanceGroups: z.boolean().optional(),
    logEvery: z.number().int().min(1).default(1),
    sampleEvery: z.number().int().min(1).default(500),
    checkpointEvery: z.number().int().min(1).default(500),
    /** How many checkpoints on the checkpointEvery schedule to keep (the newest one, time-based or not, is kept too). */
    keepCheckpoints: z.number().int().min(1).default(3),
    /** Also checkpoint whenever this many minutes have passed since the last one (a run killed at any moment loses less). */
    checkpointMinutes: z
      .number()
      .positive()
      .max(24 * 60)
      .optional(),
    /** Evaluate a fixed set of test faces every this many steps (evals.jsonl; needs an evaluator, e.g. `ragan train`'s). */
    evalEvery: z.number().int().min(1).optional(),
    /** How many test faces that evaluation re-ages to every group (the same faces every time). */
    evalFaces: z.number().int().min(1).max(10_000).optional(),
    /**
     * Before the frozen age classifier sees a generated face, shift it by up to this many pixels
     * (a fresh draw per image and step): the generator then cannot tune pixel-exact patterns to the
     * classifier. Absent or 0: no shift.
     */
    ageShift: z.number().int().min(0).max(64).optional(),
    /**
     * Keep teaching the age classifier during training [ours]: after each D step one plain gradient step
     * (`lr`) on real faces with their groups plus `fake` × generated faces labelled with their source
     * groups, so that painted cues stop paying once the classifier has seen them. Absent: the classifier
     * stays frozen. May be switched on or changed on resume (the classifier's weights are in every
     * checkpoint; there is no optimizer state).
     */
    classifierAdapt: z
      .object({ lr: z.number().positive().max(1), fake: z.number().min(0).max(100).default(1) })
      .strict()
      .optional(),
    /**
     * Discard D's or G's update when its largest gradient is more than this many times its recent typical
     * value (the first step of a blow-up); several discarded steps in a row restore the last checkpoint
     * with half the learning rate. 0: off. May change on resume.
     */
    spikeFactor: z
      .number()
      .min(0)
      .max(1e6)
      .refine((v) => v === 0 || v > 1, 'must be 0 (off) or above 1')
      .default(20),
  })
  .strict();

export type TrainConfigInput = z.input<typeof TrainConfigSchema>;
export type TrainConfig = z.output<typeof TrainConfigSchema> & { resolvedModel: ModelConfig };

/** Validates a user config (parsed JSON) and fills defaults; throws ConfigError naming the first bad field. */
export function resolveTrainConfig(input: unknown): TrainConfig {
  const r = TrainConfigSchema.safeParse(input ?? {});
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = issue.path.length ? issue.path.join('.') : '(root)';
    const all = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ConfigError(field, r.error.issues.length > 1 ? `${issue.message} (all problems: ${all})` : issue.message);
  }
  const cfg = r.data;
  let resolvedModel: ModelConfig;
  try {
    resolvedModel = resolveModelConfig({ ...(cfg.model as Partial<ModelConfig>), preset: cfg.preset as PresetName });
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`model.${e.field}`, e.message.replace(`${e.field}: `, ''), { cause: e });
    throw e;
  }
  return { ...cfg, resolvedModel };
}

export { PRESETS };
