import type { ModelConfig } from '../config/presets.js';

/**
 * Channel schedule of the encoder/decoder: level 0 is the full-resolution stem (c0), each of the
 * nDown levels below doubles the channels, capped at cMax. Returns nDown + 1 entries.
 */
export function generatorChannels(config: Pick<ModelConfig, 'c0' | 'cMax' | 'nDown'>): number[] {
  return Array.from({ length: config.nDown + 1 }, (_, i) => Math.min(config.c0 * 2 ** i, config.cMax));
}

/** Channels from `c0` at full resolution, doubling per halving, capped at cMax, for `levels + 1` levels. */
export function doublingChannels(c0: number, cMax: number, levels: number): number[] {
  return Array.from({ length: levels + 1 }, (_, i) => Math.min(c0 * 2 ** i, cMax));
}

/** Halvings from `resolution` down to 4×4 (the discriminator's and classifier's depth). */
export function levelsTo4x4(resolution: number): number {
  return Math.round(Math.log2(resolution / 4));
}
