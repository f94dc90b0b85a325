import { ConfigError } from '../errors/index.js';
import { ConditionalBatchNorm } from './conditional-batch-norm.js';
import { Conv2D } from './conv2d.js';
import { Dense } from './dense.js';
import { DiscriminatorBlock } from './discriminator-block.js';
import { ModulatedConv2D } from './modulated-conv2d.js';
import { ModulatedResBlock, ModulatedUpBlock } from './modulated-res-block.js';
import type { Module } from './module.js';
import { ResBlock } from './res-block.js';
import type { Rng } from '../random/rng.js';

/** A layer class that can be rebuilt from its getConfig() output: `new L(config.name, config, rng)`. */
export type LayerClass = { className: string; new (name: string, args: never, rng: Rng): Module };

const registry = new Map<string, LayerClass>();

/** Registers RAGAN's layer classes for layerFromConfig(). Explicit and idempotent (no import side effect). */
export function registerLayers(): void {
  const all: LayerClass[] = [Conv2D, Dense, ModulatedConv2D, ConditionalBatchNorm, ResBlock, ModulatedResBlock, ModulatedUpBlock, DiscriminatorBlock];
  for (const l of all) registry.set(l.className, l);
}

/** Registers one more layer class (e.g. a user's own). Re-registering a name replaces it. */
export function registerLayer(layer: LayerClass): void {
  registry.set(layer.className, layer);
}

/**
 * Rebuilds a layer from `{ className, config }`, with fresh weights drawn from `rng` (load values
 * separately). Call registerLayers() first.
 */
export function layerFromConfig(className: string, config: { name: string } & Record<string, unknown>, rng: Rng): Module {
  const L = registry.get(className);
  if (!L)
    throw new ConfigError('className', `unknown layer class "${className}"; call registerLayers() first, known: ${[...registry.keys()].join(', ') || 'none'}`);
  return new L(config.name, config as never, rng);
}
