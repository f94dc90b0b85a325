import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { ConfigError, getAgeGroupSet, targetWeights, type BackendInfo, type BackendName } from '@ragan/core';
import { fsStore } from '@ragan/core/node';
import { DATA_VERSION, loadFaceModels, openCache } from '@ragan/data';
import { createProgressBar, type ProgressBar } from '../progress.js';
import {
  cachedEmbedder,
  defaultMetrics,
  embedderFeatureExtractor,
  evaluate,
  formatSummary,
  identityBaseline,
  isBaselineName,
  loadEvalModel,
  loadTfjsFeatureExtractor,
  randomBaseline,
  writeFileAtomic,
  type EvalDataset,
  type EvalModel,
  type FeatureExtractor,
} from '@ragan/eval';
import { backendOption, defaultWasmThreads, initCliBackend, THREADS_HELP } from '../backend.js';
import { openGeneratorRuntime, RUNTIME_HELP, RUNTIMES, type GeneratorRuntime } from '../runtime.js';
import { BUNDLED_MODEL_NAME, bundledModelDir } from '../bundled-model.js';
import { CLI_VERSION } from '../version.js';
import { cacheDataset, faceApiNetworks, faceRegionOf, utkFaceStrata } from '../eval-setup.js';
import { intOption } from '../int-option.js';

interface EvalFlags {
  model: string;
  data: string;
  split: string;
  limit?: number;
  inception?: string;
  seed: number;
  out: string;
  batch: number;
  backend?: BackendName | 'auto';
  threads?: number;
  runtime?: string;
  faceRegion: 'auto' | 'aligned' | 'full';
  metrics?: string;
}

async function openModel(spec: string, data: EvalDataset, seed: number): Promise<EvalModel> {
  if (isBaselineName(spec)) {
    return spec === 'identity'
      ? identityBaseline({ ageGroups: data.ageGroups })
      : randomBaseline({ seed, resolution: data.resolution, ageGroups: data.ageGroups });
  }
  if (spec === 'bundled') {
    const dir = bundledModelDir();
    if (!dir) throw new ConfigError('--model', `this installation has no bundled model (the model/ folder of @ragan/model-utkface is missing)`);
    return loadEvalModel(fsStore(dir));
  }
  return loadEvalModel(fsStore(spec));
}

/**
 * Opens the generator runtime for a model with a generator (baselines without one keep theirs) and,
 * when it is ONNX Runtime, routes `model.generate` through it. Returns the runtime to dispose.
 */
async function useRuntime(model: EvalModel, flag: string | undefined, backend: BackendInfo): Promise<GeneratorRuntime | undefined> {
  const generator = model.generator;
  if (!generator) return undefined;
  const runtime = await openGeneratorRuntime(generator, flag, backend);
  const forward = runtime.forward;
  if (forward) {
    (model as { generate: EvalModel['generate'] }).generate = async (images, masks, group) => {
      const w = targetWeights(generator, { group }, images.shape[0]);
      try {
        return await forward(images, masks, w);
      } finally {
        w.dispose();
      }
    };
  }
  return runtime;
}

const EXAMPLES = `
Examples (cache/utk64: a 64×64 cache, as the first example of \`ragan prepare --help\` makes it):
  # the bundled model, and the two baselines that need no training, on 50 test faces
  ragan eval --model bundled --data cache/utk64 --limit 50 --out results/bundled.json
  ragan eval --model identity --data cache/utk64 --limit 50 --out results/identity.json
  ragan eval --model random --data cache/utk64 --limit 50 --seed 1 --out results/random.json

  # your own model, exported from its training run, with standard FID/KID from an Inception network
  # converted as docs/eval-protocol.md says (into inception-fid-tfjs/)
  ragan train --preset tiny --data cache/utk64 --steps 2000 --out runs/tiny
  ragan export --model runs/tiny --out models/tiny
  ragan eval --model models/tiny --data cache/utk64 --inception inception-fid-tfjs --out results/tiny.json

Every selected test face is re-aged to each other age group. Age: face-api's age regressor on the
outputs. Identity: face-api's 128-D embedding (same person under 0.6). Realism: FID/KID per target
group, standard only with --inception, else on face-api embeddings (labelled non-standard). Background:
MAE/PSNR outside the face mask. On a UTKFace cache the age and identity figures are also given per
gender and race (from the file names; "byStratum" in the JSON, a table in \`ragan compare\`). The
generator runs in ONNX Runtime when it can (see --runtime; results record it under "backend"). The JSON
follows @ragan/eval's results.schema.json.`;

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('evaluate a model (or the identity/random baseline) on a cache split: age, identity, realism, background, cues, speed')
    .requiredOption(
      '--model <dir|bundled|identity|random>',
      `model folder (manifest.json + weights); bundled: the ${BUNDLED_MODEL_NAME} model shipped with @ragan/cli; or a baseline: identity, random (a folder ` +
        `with such a name: ./identity)`,
    )
    .requiredOption('--data <cache>', 'data cache written by `ragan prepare`')
    .requiredOption('--out <file>', 'results JSON to write')
    .option('--split <name>', 'cache split to evaluate', 'test')
    .option('--limit <n>', 'evaluate a seeded random subset of N faces', intOption('--limit', 1))
    .option('--inception <dir>', 'tfjs conversion of the FID Inception network: realism becomes "standard"')
    .option('--seed <s>', 'seed of the subset, KID subsets and the random baseline', intOption('--seed', 0, 2 ** 32 - 1), 0)
    .option('--batch <n>', 'faces per batch', intOption('--batch', 1, 1024), 16)
    .addOption(backendOption())
    .option('--threads <n>', THREADS_HELP, intOption('--threads', 1, 64))
    .addOption(
      new Option(
        '--face-region <r>',
        'where the face is in each image, for face-api: aligned (FFHQ-Aging crops), full (tight crops such as UTKFace); auto picks by the cache format',
      )
        .choices(['auto', 'aligned', 'full'])
        .default('auto'),
    )
    .addOption(new Option('--runtime <name>', RUNTIME_HELP).choices([...RUNTIMES]).default('auto'))
    .option('--metrics <list>', 'comma-separated subset of the metrics (default: all): age,identity,realism,background,cues,speed')
    .addHelpText('after', EXAMPLES)
    .action(async (flags: EvalFlags) => {
      const metrics = flags.metrics
        ? defaultMetrics().pick(
            flags.metrics
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean),
          )
        : defaultMetrics();
      // Open the data and the model before the backend and face models, so bad paths fail fast.
      const reader = await openCache(resolve(flags.data));
      let model: EvalModel | undefined;
      let extractor: FeatureExtractor | undefined;
      let embedder: ReturnType<typeof cachedEmbedder> | undefined;
      let runtime: GeneratorRuntime | undefined;
      try {
        const dataset = await cacheDataset(reader, flags.split);
        getAgeGroupSet(dataset.ageGroups);
        const info = await initCliBackend(flags.backend, { threads: flags.threads ?? defaultWasmThreads() });
        model = await openModel(flags.model, dataset, flags.seed);
        runtime = await useRuntime(model, flags.runtime, info);
        if (runtime) process.stderr.write(`generator on ${runtime.name} (${runtime.detail})\n`);
        const region = flags.faceRegion === 'auto' ? faceRegionOf(reader) : flags.faceRegion;
        await loadFaceModels({ detector: 'tiny', landmarks: 'tiny', age: true, recognition: true });
        const nets = faceApiNetworks(region);
        // Identity and the non-standard FID embed the same tensors: share the work.
        embedder = cachedEmbedder(nets.embedder);
        extractor = flags.inception
          ? await loadTfjsFeatureExtractor(fsStore(resolve(flags.inception)), { standard: true })
          : embedderFeatureExtractor(embedder, { name: `face-api recognition 128-D (${region} crop; non-standard)` });
        const total = Math.min(flags.limit ?? Infinity, dataset.ids.length);
        // UTKFace names carry gender and race: the age and identity figures per subgroup too
        const strata = utkFaceStrata(reader);
        const bar: ProgressBar = createProgressBar({ total, label: 'eval', unit: 'face' });
        const results = await evaluate({
          model,
          dataset,
          ageEstimator: nets.age,
          embedders: [embedder],
          extractor,
          metrics,
          seed: flags.seed,
          batchSize: flags.batch,
          ...(strata ? { strata } : {}),
          ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
          backend: runtime?.forward ? `${runtime.name} (${info.name})` : info.name,
          versions: { '@ragan/cli': CLI_VERSION, '@ragan/data': DATA_VERSION },
          onProgress: ({ done }) => bar.update(done),
        });
        bar.finish();
        const out = resolve(flags.out);
        try {
          await mkdir(dirname(out), { recursive: true });
          await writeFileAtomic(out, `${JSON.stringify(results, null, 2)}\n`);
        } catch (e) {
          throw new ConfigError('--out', `cannot write ${out}: ${(e as Error).message}`, { cause: e });
        }
        process.stdout.write(`${formatSummary(results)}\nresults: ${out}\n`);
      } finally {
        await runtime?.dispose();
        model?.dispose();
        extractor?.dispose?.();
        embedder?.dispose();
        await reader.close();
      }
    });
}
