import { ageMetric } from './age.js';
import { backgroundMetric } from './background.js';
import { cuesMetric } from './cues.js';
import { identityMetric } from './identity.js';
import { realismMetric } from './realism.js';
import { MetricRegistry, type MetricDefinition } from './registry.js';
import { speedMetric } from './speed.js';

/** The built-in metrics, in the order they run and print. */
export const BUILTIN_METRICS = [ageMetric, identityMetric, realismMetric, backgroundMetric, cuesMetric, speedMetric] as const;

/** A registry with the built-in metrics; register more on it (one file per metric, like these). */
export function defaultMetrics(): MetricRegistry {
  const r = new MetricRegistry();
  for (const m of BUILTIN_METRICS) r.register(m as MetricDefinition<unknown>);
  return r;
}

export { ageMetric, ageRangeDistance, estimatedGroup, inAgeGroup, type AgeMetricResult, type AgeGroupScores } from './age.js';
export { identityMetric, rowDistances, type IdentityMetricResult, type IdentityScores } from './identity.js';
export { realismMetric, type RealismMetricResult, type RealismScores } from './realism.js';
export { backgroundMetric, backgroundScores, type BackgroundMetricResult, type BackgroundScores } from './background.js';
export {
  BRIGHTNESS_CUE_THRESHOLD,
  COLOUR_CUE_THRESHOLD,
  cuePool,
  cuesMetric,
  type CueShares,
  type CuesMetricResult,
} from './cues.js';
export { speedMetric, type SpeedMetricResult } from './speed.js';
export { fidFromFeatures, frechetDistance } from './fid.js';
export { kernelInceptionDistance, type KidOptions, type KidResult } from './kid.js';
export { featureSet, featureMean, featureCovariance, FeatureBuffer, type FeatureSet } from './features.js';
export {
  MetricRegistry,
  metricAvailable,
  type MetricDefinition,
  type MetricAccumulator,
  type MetricContext,
  type MetricRequirement,
  type GeneratedBatch,
  type TargetBatch,
} from './registry.js';
