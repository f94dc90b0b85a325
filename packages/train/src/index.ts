export { resolveTrainConfig, TrainConfigSchema, type TrainConfig, type TrainConfigInput } from './config/schema.js';
export { checkSourceFits, runTraining, type TrainRunOptions, type TrainRunResult, type StepInfo } from './trainer/run.js';
export type { BatchSource, SourceBatch } from './trainer/batch-source.js';
export { memoryBatchSource, type MemorySourceOptions } from './trainer/memory-source.js';
export {
  saveCheckpoint,
  loadLatestCheckpoint,
  listCheckpoints,
  pruneCheckpoints,
  checkpointsDir,
  type TrainingState,
  type LoadedCheckpoint,
} from './checkpoint/checkpoint.js';
export { TensorBag } from './checkpoint/tensor-bag.js';
export { appendMetrics, readMetrics, truncateMetrics, type MetricsRow } from './logging/metrics.js';
export { sampleGridPng } from './logging/sample-grid.js';
export { cacheBatchSource, type CacheSourceOptions } from './trainer/cache-source.js';
export { trainClassifier, type ClassifierTrainOptions, type ClassifierTrainResult } from './trainer/classifier.js';
export { writeReport } from './logging/report.js';
export { writeSnapshot, type SnapshotInfo, type SnapshotResult } from './checkpoint/snapshot.js';
