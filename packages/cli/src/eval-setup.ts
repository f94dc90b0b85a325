import * as tf from '@tensorflow/tfjs';
import { DatasetError, reage, sha256Hex, type Generator } from '@ragan/core';
import { faceApiAgeEstimator, faceApiEmbedder, loadFaceModels, openCache, parseUtkFaceName, type CacheReader } from '@ragan/data';
import { defaultMetrics, evaluate, type AgeEstimator, type EvalDataset, type FaceEmbedder } from '@ragan/eval';

/**
 * A data cache split as an EvalDataset (random access through the cache reader). Pixels are mapped to
 * [-1, 1] and masks to [0, 1] exactly as the training sampler does. The dataset hash covers what defines
 * the data (every sample's source hash, label and split, the shard hashes and the image size), not
 * timestamps, so re-preparing the same files gives the same hash.
 */
export async function cacheDataset(reader: CacheReader, split: string): Promise<EvalDataset> {
  const { index } = reader;
  const picked = index.samples.map((s, i) => ({ s, i })).filter(({ s }) => s.split === split);
  if (picked.length === 0) {
    const splits = [...new Set(index.samples.map((s) => s.split))].join(', ') || 'none';
    throw new DatasetError(reader.dir, `the cache has no "${split}" samples (its splits: ${splits}); pick one with --split`);
  }
  const identity = JSON.stringify({
    size: index.record.size,
    layout: index.record.layout,
    groups: index.groups,
    shards: index.shards.map((s) => s.sha256),
    samples: index.samples.map((s) => [s.file, s.sha256, s.age, s.group, s.split, s.mask]),
  });
  const size = index.record.size;
  const px = size * size;
  return {
    name: `${index.args.format}:${index.args.data.split(/[\\/]/).filter(Boolean).pop() ?? index.args.data}`,
    split,
    resolution: size,
    ageGroups: index.groups.name,
    ids: picked.map(({ s }) => s.file),
    datasetHash: await sha256Hex(new TextEncoder().encode(identity)),
    async load(indices) {
      const images = new Float32Array(indices.length * px * 3);
      const masks = new Float32Array(indices.length * px);
      const buf = new Uint8Array(index.record.bytes);
      const groups: number[] = [];
      const ages: (number | null)[] = [];
      for (let k = 0; k < indices.length; k++) {
        const { s, i } = picked[indices[k]!]!;
        const rec = await reader.read(i, buf);
        for (let j = 0; j < px * 3; j++) images[k * px * 3 + j] = rec.image[j]! / 127.5 - 1;
        for (let j = 0; j < px; j++) masks[k * px + j] = rec.mask[j]! / 255;
        groups.push(s.group);
        ages.push(s.age);
      }
      return {
        images: tf.tensor4d(images, [indices.length, size, size, 3]),
        masks: tf.tensor4d(masks, [indices.length, size, size, 1]),
        groups,
        ages,
      };
    },
  };
}

/** face-api's networks (from @ragan/data) behind @ragan/eval's interfaces. */
export function faceApiNetworks(region: 'aligned' | 'full'): { age: AgeEstimator; embedder: FaceEmbedder } {
  return { age: faceApiAgeEstimator({ region }), embedder: faceApiEmbedder({ region }) };
}

const UTK_RACES = ['White', 'Black', 'Asian', 'Indian', 'Others'] as const;

/**
 * Subgroups of a UTKFace face from its file name, for per-gender and per-race figures (`evaluate`'s
 * `strata`): `gender:male|female|unknown`, `race:White|Black|Asian|Indian|Others|unknown` (unknown for
 * the names that lack a field). Undefined for other data sets.
 */
export function utkFaceStrata(reader: CacheReader): ((id: string) => string[]) | undefined {
  if (reader.index.args.format !== 'utkface') return undefined;
  return (id) => {
    const r = parseUtkFaceName(id);
    if (!r.ok) return ['gender:unknown', 'race:unknown'];
    const { gender, race } = r.value;
    return [`gender:${gender === null ? 'unknown' : gender === 0 ? 'male' : 'female'}`, `race:${race === null ? 'unknown' : UTK_RACES[race]}`];
  };
}

/** The face region face-api should look at in a cache's images: UTKFace chips are tight crops. */
export const faceRegionOf = (reader: CacheReader): 'aligned' | 'full' => (reader.index.args.format === 'utkface' ? 'full' : 'aligned');

/**
 * `ragan train`'s evaluator (runTraining's `evaluate`): re-ages the same `faces` test faces (seed 0) to
 * every other group with the EMA generator and measures them with face-api's age regressor and 128-D
 * embedding, as `ragan eval` does (fewer faces, and only age and identity). Returns flat numbers for
 * RUN/evals.jsonl: overall hit rate and within-one rate, mean estimated age and hit rate per target
 * group, identity share under 0.6 and mean distance, face-api's hit rate on the inputs themselves, and
 * the share of the face painted darker/brighter or recoloured (`brightCue`, `colourCue`: the cues metric).
 */
export async function trainingEvaluator(
  cacheDir: string,
  faces: number,
): Promise<{
  evaluate: (generator: Generator, step: number) => Promise<Record<string, number | null>>;
  close: () => Promise<void>;
}> {
  const reader = await openCache(cacheDir);
  const dataset = await cacheDataset(reader, 'test');
  const region = faceRegionOf(reader);
  await loadFaceModels({ detector: 'tiny', landmarks: 'tiny', age: true, recognition: true });
  const nets = faceApiNetworks(region);
  const metrics = defaultMetrics().pick(['age', 'identity', 'cues']);
  return {
    close: () => reader.close(),
    async evaluate(generator, step) {
      const r = await evaluate({
        model: {
          name: `training step ${step}`,
          kind: 'model',
          sha256: '0'.repeat(64),
          ageGroups: generator.config.ageGroups,
          resolution: generator.config.resolution,
          generator,
          generate: (images, masks, group) => reage(generator, images, masks, { group }),
          dispose: () => {},
        },
        dataset,
        ageEstimator: nets.age,
        embedders: [nets.embedder],
        metrics,
        limit: Math.min(faces, dataset.ids.length),
        seed: 0,
      });
      const age = r.metrics.age!;
      const id = r.metrics.identity!;
      const out: Record<string, number | null> = {
        faces: r.dataset.evaluated,
        hitRate: age.hitRate,
        withinOne: age.withinOneRate ?? null,
        yearsOff: age.meanRangeDistance,
        inputsHitRate: age.inputs.hitRate,
        identityShare: id.shareBelowThreshold,
        identityDistance: id.meanDistance,
        brightCue: r.metrics.cues?.brightShare ?? null,
        colourCue: r.metrics.cues?.colourShare ?? null,
      };
      age.perGroup.forEach((g) => {
        out[`age:${g.group}`] = g.meanEstimatedAge;
        out[`hit:${g.group}`] = g.hitRate;
      });
      return out;
    },
  };
}
