export { resolveTrainConfig, TrainConfigSchema, type TrainConfig, type TrainConfigInput } from './config/schema.js';
