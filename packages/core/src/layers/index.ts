// Thin layers that own named weights (Module subclasses). Anatomy: XxxArgs with documented defaults,
// static className, weights created in the constructor, apply() in tf.tidy, getConfig() round-trips
// as `new Xxx(config.name, config, rng)`.
export { Module, heNormal, zeros, ones, constant, type NamedWeight, type Initializer } from './module.js';
export { Conv2D, type Conv2DArgs, type Conv2DConfig } from './conv2d.js';
export { Dense, type DenseArgs, type DenseConfig } from './dense.js';
export { ModulatedConv2D, type ModulatedConv2DArgs, type ModulatedConv2DConfig } from './modulated-conv2d.js';
export { ConditionalBatchNorm, type ConditionalBatchNormArgs, type ConditionalBatchNormConfig, type BatchStats } from './conditional-batch-norm.js';
export { ResBlock, type ResBlockArgs, type ResBlockConfig } from './res-block.js';
export {
  ModulatedResBlock,
  ModulatedUpBlock,
  type ModulatedResBlockArgs,
  type ModulatedResBlockConfig,
  type ModulatedUpBlockArgs,
  type ModulatedUpBlockConfig,
} from './modulated-res-block.js';
export { DiscriminatorBlock, type DiscriminatorBlockArgs, type DiscriminatorBlockConfig } from './discriminator-block.js';
export { registerLayers, registerLayer, layerFromConfig, type LayerClass } from './registry.js';
