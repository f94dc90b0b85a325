// @ragan/eval: metrics (a registry, one file per metric), feature extractors, the evaluation runner,
// the results schema, and the leaderboard. Depends on @ragan/core only; face-api networks and dataset
// readers are passed in through the interfaces below (`ragan eval` wires the ones from @ragan/data).
export type { AgeEstimator, FaceEmbedder, FeatureExtractor, EvalDataset, EvalSamples, EvalModel } from './interfaces.js';
export * from './metrics/index.js';
export { embedderFeatureExtractor } from './extractors/embedder.js';
export { cachedEmbedder } from './extractors/cached.js';
export { loadTfjsFeatureExtractor, featureExtractorConfigSchema, FEATURE_EXTRACTOR_CONFIG, type FeatureExtractorConfig } from './extractors/tfjs-model.js';
export { evaluate, type EvaluateOptions } from './run/evaluate.js';
export { memoryDataset, type MemoryDatasetArgs } from './run/dataset.js';
export {
  identityBaseline,
  randomBaseline,
  loadEvalModel,
  modelFolderSha256,
  checkModelFitsData,
  isBaselineName,
  BASELINES,
  type BaselineName,
} from './run/models.js';
export { evalResultsSchema, resultsJsonSchema, RESULTS_SCHEMA_VERSION, RESULTS_KIND, type EvalResults } from './results/schema.js';
export { checkResultsConsistency } from './results/consistency.js';
export { formatSummary, formatComparison } from './results/summary.js';
export * from './leaderboard/index.js';
export { createRng, sampleIndices } from './rng.js';
export { EVAL_VERSION } from './version.js';
