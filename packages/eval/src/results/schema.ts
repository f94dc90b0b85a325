import { z } from 'zod';

/**
 * The results file of `ragan eval` (and the leaderboard's submission format), as a zod schema: the
 * single source of truth. `resultsJsonSchema()` derives the JSON Schema shipped as
 * `results.schema.json`; a test keeps that file in sync.
 *
 * Bump RESULTS_SCHEMA_VERSION on any change a reader must know about; the leaderboard refuses others.
 */
export const RESULTS_SCHEMA_VERSION = 1;
export const RESULTS_KIND = 'ragan-eval-results';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex SHA-256 (64 characters)');
/** A model's identity: SHA-256 of its folder, or a fixed label for a baseline. */
const modelHash = z.string().regex(/^(?:[0-9a-f]{64}|baseline:[a-z0-9][a-z0-9:=._-]{0,100})$/, 'must be a lowercase hex SHA-256 or a "baseline:…" label');
const text = (max: number) => z.string().min(1).max(max);
const count = z.number().int().min(0);
const rate = z.number().min(0).max(1);
const nonNeg = z.number().min(0);
const rateOrNull = rate.nullable();
const nonNegOrNull = nonNeg.nullable();

/** A subgroup of the faces, `kind:value` (`gender:female`, `race:Asian`). */
const stratumName = z.string().regex(/^[a-z][a-z0-9_-]{0,30}:[A-Za-z0-9 _-]{1,40}$/, 'must be kind:value, e.g. gender:female');

const ageSchema = z
  .object({
    estimator: text(200),
    pairs: count,
    hitRate: rate,
    withinOneRate: rate.optional(),
    meanRangeDistance: nonNeg,
    perGroup: z.array(
      z
        .object({
          group: text(40),
          pairs: count,
          hitRate: rateOrNull,
          withinOneRate: rateOrNull.optional(),
          meanEstimatedAge: nonNegOrNull,
          meanRangeDistance: nonNegOrNull,
        })
        .strict(),
    ),
    confusion: z.object({ labels: z.array(text(40)), counts: z.array(z.array(count)) }).strict(),
    inputs: z.object({ faces: count, meanAbsoluteError: nonNegOrNull, hitRate: rate }).strict(),
    byStratum: z
      .record(
        stratumName,
        z
          .object({
            faces: count,
            pairs: count,
            hitRate: rateOrNull,
            withinOneRate: rateOrNull,
            meanRangeDistance: nonNegOrNull,
            meanEstimatedAge: z.array(nonNegOrNull),
          })
          .strict(),
      )
      .optional(),
  })
  .strict();

const identityScores = z
  .object({
    embedder: text(200),
    threshold: z.number().positive(),
    pairs: count,
    meanDistance: nonNeg,
    shareBelowThreshold: rate,
    perGroup: z.array(z.object({ group: text(40), pairs: count, meanDistance: nonNegOrNull, shareBelowThreshold: rateOrNull }).strict()),
    byStratum: z.record(stratumName, z.object({ pairs: count, meanDistance: nonNegOrNull, shareBelowThreshold: rateOrNull }).strict()).optional(),
  })
  .strict();

const identitySchema = identityScores.extend({ others: z.array(identityScores).max(8) }).strict();

const realismScores = {
  nReal: count,
  nGenerated: count,
  fid: nonNegOrNull,
  // KID's unbiased estimate may be slightly negative.
  kid: z.number().nullable(),
  kidStd: nonNegOrNull,
};

const realismSchema = z
  .object({
    extractor: z.object({ name: text(200), standard: z.boolean(), dims: z.number().int().min(1).max(65536), weightsSha256: hex64.nullable() }).strict(),
    perGroup: z.array(z.object({ group: text(40), ...realismScores }).strict()),
    meanFid: nonNegOrNull,
    meanKid: z.number().nullable(),
    pooled: z.object(realismScores).strict(),
  })
  .strict();

const backgroundSchema = z.object({ pairs: count, mae: z.number().min(0).max(1), psnr: nonNegOrNull, backgroundFraction: rate }).strict();

const cueShares = { brightShare: rate, colourShare: rate };
const cuesSchema = z.object({ pairs: count, ...cueShares, perGroup: z.array(z.object({ group: text(40), pairs: count, ...cueShares }).strict()) }).strict();

const speedSchema = z.object({ backend: text(40), images: count, msPerImage: nonNeg, warmupMs: nonNeg }).strict();

export const evalResultsSchema = z
  .object({
    schemaVersion: z.literal(RESULTS_SCHEMA_VERSION),
    kind: z.literal(RESULTS_KIND),
    createdAt: z.iso.datetime(),
    model: z
      .object({
        name: text(200),
        kind: z.enum(['model', 'baseline']),
        sha256: modelHash,
        details: z.record(z.string(), z.unknown()).optional(),
      })
      .strict(),
    dataset: z
      .object({
        name: text(200),
        split: text(40),
        ageGroups: text(40),
        groupLabels: z.array(text(40)).min(2).max(64),
        resolution: z.number().int().min(8).max(4096),
        /** Faces in the split. */
        size: count,
        /** Faces evaluated (the seeded subset when --limit is below the split size). */
        evaluated: z.number().int().min(1),
        limit: z.number().int().min(1).nullable(),
        datasetHash: hex64,
        /** SHA-256 of the split's face ids, one per line, in order. */
        splitHash: hex64,
        /** SHA-256 of the evaluated faces' ids, one per line, in order. */
        subsetHash: hex64,
      })
      .strict(),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1),
    backend: text(40),
    versions: z.record(z.string().max(100), z.string().max(100)),
    timings: z.object({ totalMs: nonNeg, loadMs: nonNeg, generateMs: nonNeg, metricsMs: nonNeg }).strict(),
    metrics: z
      .object({
        age: ageSchema.nullable(),
        identity: identitySchema.nullable(),
        realism: realismSchema.nullable(),
        background: backgroundSchema.nullable(),
        /** Added after schema version 1's first files: absent in those (read as not measured). */
        cues: cuesSchema.nullable().optional(),
        speed: speedSchema.nullable(),
      })
      .strict(),
    /** Results of metrics registered beyond the built-in ones, by name; not shown on the leaderboard. */
    extraMetrics: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export type EvalResults = z.infer<typeof evalResultsSchema>;

/** The JSON Schema (draft 2020-12) of a results file, derived from the zod schema. */
export function resultsJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(evalResultsSchema, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    $id: 'https://www.npmjs.com/package/@ragan/eval/results.schema.json',
    title: 'RAGAN.ts evaluation results',
    description: `Output of \`ragan eval\` and the leaderboard's submission format, schemaVersion ${RESULTS_SCHEMA_VERSION}. See docs/eval-protocol.md.`,
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$schema')),
  };
}
