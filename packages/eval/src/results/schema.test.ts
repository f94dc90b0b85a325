import { readFileSync } from 'node:fs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { AgeMetricResult } from '../metrics/age.js';
import type { BackgroundMetricResult } from '../metrics/background.js';
import type { IdentityMetricResult } from '../metrics/identity.js';
import type { RealismMetricResult } from '../metrics/realism.js';
import type { CuesMetricResult } from '../metrics/cues.js';
import type { SpeedMetricResult } from '../metrics/speed.js';
import { EVAL_VERSION } from '../version.js';
import { RESULTS_SCHEMA_VERSION, resultsJsonSchema, type EvalResults } from './schema.js';

type Metrics = EvalResults['metrics'];

describe('results schema', () => {
  it('results.schema.json (shipped in the package) is the JSON Schema of the zod schema', () => {
    const file = JSON.parse(readFileSync(new URL('../../results.schema.json', import.meta.url), 'utf8'));
    // If this fails: pnpm --filter @ragan/eval exec tsx --conditions=@ragan/source write-schema.ts
    expect(file).toEqual(resultsJsonSchema());
    expect(file.properties.schemaVersion.const).toBe(RESULTS_SCHEMA_VERSION);
    expect(file.additionalProperties).toBe(false);
  });

  it('metric result types match the schema (checked by tsc)', () => {
    expectTypeOf<AgeMetricResult>().toExtend<NonNullable<Metrics['age']>>();
    expectTypeOf<IdentityMetricResult>().toExtend<NonNullable<Metrics['identity']>>();
    expectTypeOf<RealismMetricResult>().toExtend<NonNullable<Metrics['realism']>>();
    expectTypeOf<CuesMetricResult>().toExtend<NonNullable<Metrics['cues']>>();
    expectTypeOf<BackgroundMetricResult>().toExtend<NonNullable<Metrics['background']>>();
    expectTypeOf<SpeedMetricResult>().toExtend<NonNullable<Metrics['speed']>>();
  });

  it('EVAL_VERSION equals package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(EVAL_VERSION).toBe(pkg.version);
  });
});
