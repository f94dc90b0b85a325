import { ConfigError } from '../errors/index.js';
import { AGE_GROUP_SETS, type AgeGroupSetName } from './age-groups.js';
import type { FfhqAlignParams } from '../geometry/ffhq.js';

/**
 * Every size of the RAGAN networks (docs/model.md, "Resolution presets" and the [ours] choices).
 * A user can change any field without code: resolveModelConfig() validates and names the bad field.
 */
export interface ModelConfig {
  /** Image height = width in pixels; must be divisible by 2^nDown and ≥ 8 after the discriminator's downsampling. */
  resolution: number;
  /** Age-group set the discriminator, CBN and classifier are built for. */
  ageGroups: AgeGroupSetName;
  /** Channels of the stem (full-resolution features F0). */
  c0: number;
  /** Channel cap for encoder and discriminator blocks. */
  cMax: number;
  /** Stride-2 residual blocks in the encoder (and ×2 upsampling blocks in the decoder). */
  nDown: number;
  /** Residual blocks at the bottleneck of the identity encoder. */
  nIdBlocks: number;
  /** (3×3 stride-2 conv, CBN, leaky ReLU) blocks of the age modulator. */
  nAmDown: number;
  /** Modulated residual blocks at the bottleneck of the decoder. */
  nDecBlocks: number;
  /** Length of the age-aware style vector f_aw. */
  styleDim: number;
  /** Slope of leaky ReLU everywhere. */
  leakySlope: number;
  /** Stem kernel size. */
  stemKernel: number;
  /** Discriminator: channels at full resolution (doubles per block, capped at cMax). */
  dC0: number;
  /** Auxiliary age classifier: channels at full resolution (doubles per block, capped at cMax). */
  clsC0: number;
  /**
   * Architecture of the auxiliary age classifier [ours]. `plain` (absent = plain): stride-2 3×3 convs,
   * one per level. `robust`: per level a 3×3 conv, a 2×2 average pool and a 3×3 conv to the next width
   * (anti-aliased downsampling, twice the depth), meant to be trained with augmentations and adversarial
   * examples (`ragan train-classifier --robust`) so that its gradients follow age, not pixel patterns.
   * Not part of any preset.
   */
  clsArch?: 'plain' | 'robust';
  /**
   * Input side of the auxiliary age classifier [ours] (absent = `resolution`): a power of two from 8 up
   * to `resolution`. Below it, the classifier average-pools the generator's faces down to this side
   * before reading them, and has one level per halving from it to 4×4, so that a classifier trained on
   * 64² faces can steer a 128² generator (docs/model.md). Not part of any preset.
   */
  clsResolution?: number;
  /** Channel cap of the auxiliary age classifier [ours] (absent = `cMax`). Not part of any preset. */
  clsCMax?: number;
  /**
   * Where the identity encoder applies the face mask [ours]. `stem` (absent = stem, the spec): once, on
   * F0 (Fface = F0·m). `every-block`: also on the output of every encoder block, with the mask average-
   * pooled to the block's size. With `stem` the masked region's features are exactly zero, each
   * convolution there outputs its bias alone and pixel norm of that near-zero vector has gradients up to
   * 1/√ε = 10⁴, chained block after block (docs/training-notes.md: Adam's v overflowed); `every-block`
   * keeps those gradients to one block. Not part of any preset.
   */
  encoderMask?: 'stem' | 'every-block';
  /**
   * How faces must be cropped from photos for this model: the framing of its training data, in the terms
   * of the FFHQ alignment (`ffhqAlignQuad`). Absent = the FFHQ-Aging framing of the spec
   * (DEFAULT_FFHQ_ALIGN); UTKFace-trained models carry UTKFACE_ALIGN. Not part of any preset; `ragan age`
   * and the web demo read it.
   */
  alignment?: Required<FfhqAlignParams>;
}

export type PresetName = 'tiny' | 'small' | 'paper';

const BASE = { ageGroups: 'ffhq-aging-10', styleDim: 256, leakySlope: 0.2, stemKernel: 7 } as const;

/** Presets are data (docs/model.md table). */
export const PRESETS: Readonly<Record<PresetName, Readonly<ModelConfig>>> = {
  paper: { ...BASE, resolution: 256, c0: 64, cMax: 256, nDown: 2, nIdBlocks: 4, nAmDown: 3, nDecBlocks: 4, dC0: 64, clsC0: 32 },
  small: { ...BASE, resolution: 128, c0: 32, cMax: 128, nDown: 2, nIdBlocks: 2, nAmDown: 3, nDecBlocks: 2, dC0: 32, clsC0: 16 },
  tiny: { ...BASE, resolution: 64, c0: 16, cMax: 64, nDown: 2, nIdBlocks: 1, nAmDown: 2, nDecBlocks: 1, dC0: 16, clsC0: 8 },
};

export function isPresetName(name: string): name is PresetName {
  return name === 'tiny' || name === 'small' || name === 'paper';
}

function positiveInt(field: string, v: unknown, min = 1, max = 1 << 16): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(field, `must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/**
 * Resolves a model config from a preset name and overrides, validating every field.
 * Unknown fields are refused so that typos do not pass silently.
 */
export function resolveModelConfig(input: PresetName | (Partial<ModelConfig> & { preset?: PresetName }) = 'tiny'): ModelConfig {
  const over: Partial<ModelConfig> & { preset?: PresetName } = typeof input === 'string' ? { preset: input } : { ...input };
  const presetName = over.preset ?? 'tiny';
  if (!isPresetName(presetName)) throw new ConfigError('preset', `unknown preset "${String(presetName)}"; use tiny, small or paper`);
  const base = PRESETS[presetName];
  const known = new Set([...Object.keys(base), 'preset', 'alignment', 'clsArch', 'clsResolution', 'clsCMax', 'encoderMask']);
  for (const k of Object.keys(over)) if (!known.has(k)) throw new ConfigError(k, `unknown model config field; known fields: ${[...known].join(', ')}`);
  const { preset: _preset, ...rest } = over;
  const c: ModelConfig = { ...base, ...rest };
  positiveInt('resolution', c.resolution, 16, 1024);
  positiveInt('c0', c.c0, 1, 1024);
  positiveInt('cMax', c.cMax, 1, 2048);
  positiveInt('nDown', c.nDown, 1, 6);
  positiveInt('nIdBlocks', c.nIdBlocks, 0, 16);
  positiveInt('nAmDown', c.nAmDown, 1, 8);
  positiveInt('nDecBlocks', c.nDecBlocks, 0, 16);
  positiveInt('styleDim', c.styleDim, 1, 4096);
  positiveInt('stemKernel', c.stemKernel, 1, 11);
  positiveInt('dC0', c.dC0, 1, 1024);
  positiveInt('clsC0', c.clsC0, 1, 1024);
  if (typeof c.leakySlope !== 'number' || !(c.leakySlope >= 0 && c.leakySlope < 1))
    throw new ConfigError('leakySlope', `must be in [0, 1), got ${c.leakySlope}`);
  if (c.clsArch !== undefined && c.clsArch !== 'plain' && c.clsArch !== 'robust')
    throw new ConfigError('clsArch', `must be "plain" or "robust", got ${JSON.stringify(c.clsArch)}`);
  if (c.clsArch === undefined) delete c.clsArch;
  // the classifier's own size and width: absent when they are the model's (older configs stay as they were)
  if (c.clsResolution !== undefined) {
    positiveInt('clsResolution', c.clsResolution, 8, 1024);
    if (!Number.isInteger(Math.log2(c.clsResolution)) || c.clsResolution > c.resolution)
      throw new ConfigError('clsResolution', `must be a power of two from 8 up to resolution (${c.resolution}), got ${c.clsResolution}`);
  }
  if (c.clsResolution === undefined || c.clsResolution === c.resolution) delete c.clsResolution;
  if (c.clsCMax !== undefined) positiveInt('clsCMax', c.clsCMax, 1, 2048);
  if (c.clsCMax === undefined || c.clsCMax === c.cMax) delete c.clsCMax;
  if (c.encoderMask !== undefined && c.encoderMask !== 'stem' && c.encoderMask !== 'every-block')
    throw new ConfigError('encoderMask', `must be "stem" or "every-block", got ${JSON.stringify(c.encoderMask)}`);
  if (c.encoderMask === undefined) delete c.encoderMask;
  if (c.alignment !== undefined) c.alignment = checkAlignment(c.alignment);
  else delete c.alignment;
  if (!(c.ageGroups in AGE_GROUP_SETS))
    throw new ConfigError('ageGroups', `unknown age-group set "${c.ageGroups}"; use ${Object.keys(AGE_GROUP_SETS).join(' or ')}`);
  if (c.resolution % 2 ** c.nDown !== 0) throw new ConfigError('resolution', `${c.resolution} is not divisible by 2^nDown = ${2 ** c.nDown}`);
  if (c.resolution / 2 ** (c.nDown + c.nAmDown) < 1) throw new ConfigError('nAmDown', `the age modulator would downsample ${c.resolution}px below 1px`);
  if (!Number.isInteger(Math.log2(c.resolution)))
    throw new ConfigError('resolution', `must be a power of two (the discriminator halves it down to 4×4), got ${c.resolution}`);
  return c;
}

const ALIGNMENT_RANGES = { eyeToEyeScale: [0.5, 5], eyeToMouthScale: [0.5, 5], centreShift: [-1, 2] } as const;

function checkAlignment(a: unknown): Required<FfhqAlignParams> {
  if (typeof a !== 'object' || a === null || Array.isArray(a))
    throw new ConfigError('alignment', 'must be an object { eyeToEyeScale, eyeToMouthScale, centreShift }');
  const o = a as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!Object.hasOwn(ALIGNMENT_RANGES, k)) throw new ConfigError(`alignment.${k}`, `unknown field; known: ${Object.keys(ALIGNMENT_RANGES).join(', ')}`);
  const out: Record<string, number> = {};
  for (const [k, [lo, hi]] of Object.entries(ALIGNMENT_RANGES)) {
    const v = o[k];
    if (typeof v !== 'number' || !(v >= lo && v <= hi))
      throw new ConfigError(`alignment.${k}`, `must be a number from ${lo} to ${hi}, got ${JSON.stringify(v)}`);
    out[k] = v;
  }
  return out as Required<FfhqAlignParams>;
}

/** Number of age groups of a config. */
export function numGroups(config: Pick<ModelConfig, 'ageGroups'>): number {
  return AGE_GROUP_SETS[config.ageGroups].groups.length;
}
