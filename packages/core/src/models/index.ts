// Model factories: the browser and the trainer build the same artefact from a ModelConfig.
export {
  Generator,
  IdentityEncoder,
  AgeModulator,
  AgeModulatorBlock,
  Decoder,
  createGenerator,
  disposeEncoded,
  STYLE_LR_MULTIPLIER,
  type EncodedImage,
  type GeneratorApplyOptions,
} from './generator.js';
export { Discriminator, createDiscriminator, MBSTD_GROUP_SIZE } from './discriminator.js';
export { AgeClassifier, createAgeClassifier } from './age-classifier.js';
export { groupTarget, ageTarget } from './targets.js';
export { generatorChannels, doublingChannels, levelsTo4x4 } from './channels.js';
