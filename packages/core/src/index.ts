// @ragan/core: browser-safe entry (no Node built-ins). Node-only helpers live in '@ragan/core/node'.
export * from './errors/index.js';
export * from './config/age-groups.js';
export * from './config/presets.js';
export * from './ops/index.js';
export * from './layers/index.js';
export { Rng, mix32, isRngState, isSfc32State, type RngState, type Sfc32State } from './random/rng.js';
export * from './models/index.js';
export * from './losses/index.js';
export * from './io/index.js';
export { Adam, updateEma, copyWeights, type AdamArgs } from './training/adam.js';
export {
  GanTrainer,
  DEFAULT_LOSS_WEIGHTS,
  type GanTrainerArgs,
  type TrainBatch,
  type StepResult,
  type LossWeights,
  type TrainableGenerator,
  type Critic,
} from './training/gan-trainer.js';
export { SpikeGuard, type SpikeGuardOptions, type SpikeGuardState, type SpikeStream } from './training/spike-guard.js';
export { createRagan, withClassifier, saveRaganModel, loadRaganModel, exportGenerator, loadGenerator, type RaganModel } from './ragan.js';
export {
  reage,
  ageStrip,
  reageFaces,
  reageFacesAsync,
  targetWeights,
  parseAgeTarget,
  describeAgeTarget,
  MAX_TARGET_AGE,
  type AgeTargetSpec,
  type AgeTargetDescription,
  type ReageFacesOptions,
  type ReageFacesAsyncOptions,
  type GeneratorForward,
} from './inference.js';
export { generatorToOnnx, ONNX_OPSET, ONNX_INPUTS, ONNX_OUTPUT, type GeneratorOnnxOptions } from './onnx/export-generator.js';
export {
  createOnnxGenerator,
  OnnxMismatchError,
  ONNX_TOLERANCE,
  type OnnxGenerator,
  type OnnxGeneratorOptions,
  type OrtModuleLike,
  type OrtSessionLike,
  type OrtTensorLike,
} from './onnx/runtime.js';
export {
  initBackend,
  probeBackends,
  BACKEND_PREFERENCE,
  type BackendName,
  type BackendInfo,
  type BackendProbe,
  type InitBackendOptions,
} from '@ragan/backend';
export { VERSION } from './version.js';
export * from './geometry/index.js';
export * from './photo/index.js';
