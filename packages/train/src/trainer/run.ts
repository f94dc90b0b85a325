import { createHash } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  CheckpointError,
  ConfigError,
  copyWeights,
  createAgeClassifier,
  createRagan,
  GanTrainer,
  loadModelFolder,
  readManifest,
  withClassifier,
  type AgeClassifier,
  type RaganModel,
} from '@ragan/core';
import { fsStore } from '@ragan/core/node';
import { resolveTrainConfig, type TrainConfig } from '../config/schema.js';
import { loadLatestCheckpoint, pruneCheckpoints, saveCheckpoint, type TrainingState } from '../checkpoint/checkpoint.js';
import { appendMetrics, truncateMetrics } from '../logging/metrics.js';
import { sampleGridPng } from '../logging/sample-grid.js';
import type { BatchSource } from './batch-source.js';

export interface StepInfo {
  step: number;
  total: number;
  losses: Record<string, number>;
  imagesPerSecond: number;
  /** Wall time of this step (fetching the batch and training), in seconds. */
  seconds: number;
  discarded: boolean;
}

export interface TrainRunOptions {
  /** The run folder: config.json, metrics.jsonl, samples/, checkpoints/. */
  runDir: string;
  /** New runs: the config (validated here). Resumed runs read config.json from the run folder. */
  config?: unknown;
  source: BatchSource;
  /** Continue the run in runDir from its newest valid checkpoint. */
  resume?: boolean;
  /** Train up to this total step count (default: config.steps). */
  steps?: number;
  /** A model folder holding a trained `classifier` (frozen for the age loss). */
  classifierDir?: string;
  /** Stops after the current step, with a checkpoint (SIGINT/SIGTERM). */
  signal?: AbortSignal;
  onStep?: (info: StepInfo) => void;
  log?: (line: string) => void;
  /**
   * Frozen face embedding for the identity-network loss (`1 - cos`), used when the config's
   * `identityNetwork` is true (the CLI passes face-api's 128-D embedding from @ragan/data).
   */
  identityEmbedding?: (x: tf.Tensor4D) => tf.Tensor2D;
  /** Consecutive discarded steps (NaN/Inf or gradient spikes) before the last checkpoint is restored and lr halved. Default 3. */
  nanRestoreAfter?: number;
  /**
   * Measures the EMA generator every `config.evalEvery` steps (and at step 0 of a new run): a flat record
   * of numbers (age hit rate, identity, …) appended to RUN/evals.jsonl with the step. `ragan train`
   * passes one built on @ragan/eval with face-api's networks.
   */
  evaluate?: (generator: RaganModel['emaGenerator'], step: number) => Promise<Record<string, number | null>>;
  /** Clock for the time-based checkpoints, in ms (tests). Default performance.now. */
  now?: () => number;
}

export interface TrainRunResult {
  step: number;
  reason: 'done' | 'interrupted';
  runDir: string;
}

const enc = (s: string) => new TextEncoder().encode(s);
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function loadClassifierInto(target: AgeClassifier, dir: string): Promise<void> {
  let loaded: AgeClassifier | undefined;
  await loadModelFolder(fsStore(dir), {
    modules: ['classifier'],
    create: (config) => {
      loaded = createAgeClassifier(config);
      return { classifier: loaded };
    },
  });
  try {
    const theirs = loaded!.weights();
    const ours = target.weights();
    const other = theirs.length !== ours.length ? -1 : ours.findIndex((w, i) => w.variable.shape.join() !== theirs[i]!.variable.shape.join());
    if (theirs.length !== ours.length || other >= 0) {
      const why =
        other >= 0
          ? ` (${ours[other]!.name} is [${theirs[other]!.variable.shape.join(', ')}] there, [${ours[other]!.variable.shape.join(', ')}] in this run's model)`
          : '';
      throw new ConfigError('classifier', `${dir} holds a classifier for another model config${why}`);
    }
    copyWeights(target.weights(), loaded!.weights());
  } finally {
    loaded!.dispose();
  }
}

/** The model config fields that describe the auxiliary age classifier alone. */
const CLASSIFIER_FIELDS = ['clsArch', 'clsC0', 'clsResolution', 'clsCMax'] as const;

/**
 * What a classifier folder's config says of the classifier, as a run's model overrides: its architecture,
 * width, input side and channel cap (a 64² classifier can steer a 128² generator, through 2×2 means).
 */
async function classifierOverrides(dir: string): Promise<{ fields: Record<string, unknown>; ageGroups: unknown; side: number }> {
  const c = (await readManifest(fsStore(dir))).config as unknown as Record<string, unknown>;
  const side = Number(c.clsResolution ?? c.resolution);
  // a plain classifier is the default architecture: no field, as configs have always said it
  const arch = c.clsArch !== undefined && c.clsArch !== 'plain' ? { clsArch: c.clsArch } : {};
  const fields: Record<string, unknown> = { ...arch, clsC0: c.clsC0, clsResolution: side, clsCMax: c.clsCMax ?? c.cMax };
  return { fields, ageGroups: c.ageGroups, side };
}

/** A classifier folder fits a run when it reads faces no larger than the run's and uses its age groups. */
function checkClassifierFits(dir: string, given: Awaited<ReturnType<typeof classifierOverrides>>, model: RaganModel['config']): void {
  if (!(given.side <= model.resolution))
    throw new ConfigError(
      'classifier',
      `${dir} holds a classifier of ${given.side}² faces; this run's model makes ${model.resolution}² faces (it may be smaller, not larger)`,
    );
  if (given.ageGroups !== model.ageGroups)
    throw new ConfigError(
      'classifier',
      `${dir} holds a classifier for the age groups "${String(given.ageGroups)}"; this run's model uses "${model.ageGroups}"`,
    );
}

/** The classifier a resolved model config describes, in words (to compare and to name in messages). */
function classifierOf(m: RaganModel['config']): string {
  return `clsArch ${m.clsArch ?? 'plain'}, clsC0 ${m.clsC0}, clsResolution ${m.clsResolution ?? m.resolution}, clsCMax ${m.clsCMax ?? m.cMax}`;
}

/**
 * Checks that a source's images fit the model a config builds (resolution, age-group set), so that a
 * mismatch is said before anything is written or trained. ConfigError naming the field.
 */
export function checkSourceFits(config: TrainConfig, source: Pick<BatchSource, 'resolution' | 'ageGroups'>): void {
  const m = config.resolvedModel;
  if (source.resolution !== m.resolution) {
    throw new ConfigError(
      'model.resolution',
      `the data has ${source.resolution}px images but the ${config.preset} model is built for ${m.resolution}px: prepare the data with --size ` +
        `${m.resolution} or choose another preset`,
    );
  }
  if (source.ageGroups && source.ageGroups !== m.ageGroups) {
    throw new ConfigError(
      'model.ageGroups',
      `the data is labelled with the ${source.ageGroups} age groups but the model uses ${m.ageGroups}: set "model": { "ageGroups": "${source.ageGroups}" } ` +
        `in the config`,
    );
  }
}

/**
 * Trains RAGAN (docs/model.md "Training"): per step one GanTrainer iteration; metrics.jsonl rows,
 * sample grids and checkpoints on schedule; exact resume; NaN steps discarded, and after several in a
 * row the last checkpoint is restored with half the learning rate.
 */
export async function runTraining(opts: TrainRunOptions): Promise<TrainRunResult> {
  const log = opts.log ?? (() => {});
  const { runDir, source } = opts;
  const configFile = join(runDir, 'config.json');
  const metricsFile = join(runDir, 'metrics.jsonl');
  const evalsFile = join(runDir, 'evals.jsonl');
  let config: TrainConfig;
  /** The config after a classifier swap on resume; config.json gets it after the first checkpoint with the new classifier. */
  let swapTo: TrainConfig | undefined;
  if (opts.resume) {
    if (!(await exists(configFile))) throw new CheckpointError(`${configFile} not found: is ${runDir} a training run folder?`, { path: runDir });
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(configFile, 'utf8'));
    } catch (e) {
      throw new CheckpointError(`${configFile} is not valid JSON: ${(e as Error).message}`, { path: configFile, cause: e });
    }
    const { resolvedModel: _m, ...input } = raw as TrainConfig;
    config = resolveTrainConfig(input);
    // --classifier on a resume: the run continues with another frozen classifier (swapped in restore)
    if (opts.classifierDir) {
      const given = await classifierOverrides(opts.classifierDir);
      checkClassifierFits(opts.classifierDir, given, config.resolvedModel);
      const kept = Object.fromEntries(Object.entries(input.model ?? {}).filter(([k]) => !(CLASSIFIER_FIELDS as readonly string[]).includes(k)));
      swapTo = resolveTrainConfig({ ...input, model: { ...kept, ...given.fields } });
    }
  } else {
    const { resolvedModel: _resolved, ...input } = (opts.config ?? {}) as Partial<TrainConfig>;
    // The data's framing becomes part of the model (unless the config sets one), so that `ragan age`
    // crops photos the way the training faces were cropped.
    if (source.alignment && (input.model as Record<string, unknown> | undefined)?.alignment === undefined) {
      input.model = { ...input.model, alignment: source.alignment };
    }
    // A given classifier brings its own architecture, width, input side and channel cap (each unless the
    // config sets it), so that it loads.
    if (opts.classifierDir) {
      const given = await classifierOverrides(opts.classifierDir);
      checkClassifierFits(opts.classifierDir, given, resolveTrainConfig(input).resolvedModel);
      const m = (input.model ?? {}) as Record<string, unknown>;
      input.model = { ...m, ...Object.fromEntries(Object.entries(given.fields).filter(([k]) => m[k] === undefined)) };
    }
    config = resolveTrainConfig(input);
    checkSourceFits(config, source); // before the run folder is made
    if (await exists(configFile))
      throw new ConfigError('out', `${runDir} already holds a run (config.json); continue it with --resume, or choose another --out`);
    await mkdir(runDir, { recursive: true });
    // the fully resolved config goes into the run folder before step 0
    await fsStore(runDir).write('config.json', enc(`${JSON.stringify(config, null, 2)}\n`));
  }
  const { resolvedModel: _model, ...hashed } = config;
  // What must not change across a resume: not the step target, the data path, the backend or when to
  // checkpoint and evaluate. Checkpoints with `configHashVersion` 2 also let the loss weights, the
  // classifier's input shift, its adaptation, the group balancing of the data and the EMA ramp-up
  // change (a recipe may be tuned mid-run; each resume logs the weights in force); version 3 also the
  // style path's learning-rate multiplier; version 4 also the frozen classifier (`--classifier` on a
  // resume swaps it, and the checkpoint's classifier must then match config.json's). Older checkpoints
  // keep the hash they were written with.
  const looseKeys = { steps: undefined, data: undefined, backend: undefined, checkpointMinutes: undefined, evalEvery: undefined, evalFaces: undefined };
  const strictHash = sha256(JSON.stringify({ ...hashed, ...looseKeys }));
  const tunable = {
    ...hashed,
    ...looseKeys,
    losses: undefined,
    ageShift: undefined,
    emaWarmup: undefined,
    spikeFactor: undefined,
    classifierAdapt: undefined,
    balanceGroups: undefined,
  };
  // before version 3 the style path trained at 0.01 whatever the config said: a version-2 checkpoint
  // matches its config as written (0.01 unless a user set another value, which had no effect) or at 0.01
  const hashesV2 = [tunable, { ...tunable, optimizer: { ...hashed.optimizer, styleLrMultiplier: 0.01 } }].map((c) => sha256(JSON.stringify(c)));
  const hashV3 = sha256(JSON.stringify({ ...tunable, optimizer: { ...hashed.optimizer, styleLrMultiplier: undefined } }));
  const modelWithoutClassifier = Object.fromEntries(Object.entries(hashed.model).filter(([k]) => !(CLASSIFIER_FIELDS as readonly string[]).includes(k)));
  const configHash = sha256(JSON.stringify({ ...tunable, model: modelWithoutClassifier, optimizer: { ...hashed.optimizer, styleLrMultiplier: undefined } }));
  const CONFIG_HASH_VERSION = 4;
  checkSourceFits(config, source);
  const total = opts.steps ?? config.steps;
  await mkdir(join(runDir, 'samples'), { recursive: true });

  let model!: RaganModel;
  let trainer!: GanTrainer;
  let step = 0;
  const trainerArgs = (m: RaganModel) => ({
    ...m,
    numGroups: m.generator.numGroups,
    lr: config.optimizer.lr,
    betas: [config.optimizer.beta1, config.optimizer.beta2] as [number, number],
    emaDecay: config.emaDecay,
    ...(config.emaWarmup ? { emaWarmup: true } : {}),
    r1Gamma: config.r1.gamma,
    r1Every: config.r1.every,
    lossWeights: config.losses,
    seed: config.seed,
    spikeFactor: config.spikeFactor,
    styleLrMultiplier: config.optimizer.styleLrMultiplier,
    ...(config.ageShift ? { ageShift: config.ageShift } : {}),
    ...(config.classifierAdapt ? { classifierAdapt: config.classifierAdapt } : {}),
    ...(config.identityNetwork ? { identityEmbedding: needEmbedding() } : {}),
  });
  function needEmbedding(): (x: tf.Tensor4D) => tf.Tensor2D {
    if (!opts.identityEmbedding) throw new ConfigError('identityNetwork', 'is true but no identity embedding network was given to runTraining');
    return opts.identityEmbedding;
  }
  /** After a classifier swap: config.json describes the new classifier (written once a checkpoint holds it). */
  const persistSwap = async () => {
    config = swapTo!;
    swapTo = undefined;
    await fsStore(runDir).write('config.json', enc(`${JSON.stringify(config, null, 2)}\n`));
  };
  const restore = async (): Promise<boolean> => {
    const ck = await loadLatestCheckpoint(runDir);
    if (!ck) return false;
    for (const s of ck.skipped) log(`skipped checkpoint step ${s.step}: ${s.reason}`);
    const version = (ck.state as { configHashVersion?: number }).configHashVersion;
    const expected = version === CONFIG_HASH_VERSION ? [configHash] : version === 3 ? [hashV3] : version === 2 ? hashesV2 : [strictHash];
    const refuse = (message: string) => {
      ck.model.dispose();
      ck.gOpt.dispose();
      ck.dOpt.dispose();
      return new CheckpointError(message, { path: ck.dir });
    };
    if (!expected.includes(ck.state.configHash)) throw refuse(`checkpoint step ${ck.step} was written with another config than ${configFile}`);
    const theirs = classifierOf(ck.model.config);
    if (!swapTo && theirs !== classifierOf(config.resolvedModel))
      throw refuse(
        `checkpoint step ${ck.step} holds another age classifier (${theirs}) than ${configFile} describes ` +
          `(${classifierOf(config.resolvedModel)}): give --classifier DIR to continue with the one in DIR`,
      );
    model = ck.model;
    if (swapTo && opts.classifierDir) {
      const next = createAgeClassifier(swapTo.resolvedModel);
      try {
        await loadClassifierInto(next, opts.classifierDir);
      } catch (e) {
        next.dispose();
        ck.gOpt.dispose();
        ck.dOpt.dispose();
        ck.model.dispose();
        throw e;
      }
      model = withClassifier(ck.model, swapTo.resolvedModel, next);
      log(`step ${ck.step}: the frozen age classifier is now ${opts.classifierDir} (${classifierOf(swapTo.resolvedModel)}; was ${theirs})`);
    }
    // keep the checkpoint's EMA weights (a new trainer would start the EMA from G)
    trainer = new GanTrainer({ ...trainerArgs(model), initEmaFromGenerator: false });
    trainer.gOpt.setState({ iterations: ck.state.gOptIterations, tensors: ck.gOpt.toMap() });
    trainer.dOpt.setState({ iterations: ck.state.dOptIterations, tensors: ck.dOpt.toMap() });
    ck.gOpt.dispose();
    ck.dOpt.dispose();
    trainer.gOpt.lr = ck.state.lr;
    trainer.dOpt.lr = ck.state.lr;
    trainer.rng.setState(ck.state.trainerRng);
    if (ck.state.spikeGuard) trainer.spikeGuard.setState(ck.state.spikeGuard);
    trainer.step = ck.state.step;
    await source.setCursor(ck.state.dataCursor);
    step = ck.state.step;
    return true;
  };

  if (opts.resume && (await restore())) {
    log(`resuming ${runDir} from step ${step}`);
    await truncateMetrics(metricsFile, step);
    await truncateMetrics(evalsFile, step);
    await appendMetrics(metricsFile, {
      event: 'resume',
      step,
      losses: config.losses,
      ageShift: config.ageShift ?? 0,
      emaWarmup: config.emaWarmup ?? false,
      spikeFactor: config.spikeFactor,
      ...(config.classifierAdapt ? { classifierAdapt: config.classifierAdapt } : {}),
      ...(config.balanceGroups ? { balanceGroups: true } : {}),
      styleLrMultiplier: config.optimizer.styleLrMultiplier,
      ...(swapTo && opts.classifierDir ? { classifier: opts.classifierDir } : {}),
    });
  } else {
    // a new run, or a run folder without a checkpoint yet (it starts again, with a swapped classifier if given)
    if (swapTo) await persistSwap();
    model = createRagan(config.resolvedModel, { seed: config.seed });
    if (opts.classifierDir) await loadClassifierInto(model.classifier, opts.classifierDir);
    trainer = new GanTrainer(trainerArgs(model));
    await truncateMetrics(metricsFile, 0);
    await truncateMetrics(evalsFile, -1);
  }

  const state = (): TrainingState => ({
    step,
    trainerRng: trainer.rng.getState(),
    gOptIterations: trainer.gOpt.iterations,
    dOptIterations: trainer.dOpt.iterations,
    lr: trainer.gOpt.lr,
    dataCursor: source.getCursor(),
    configHash,
    configHashVersion: CONFIG_HASH_VERSION,
    spikeGuard: trainer.spikeGuard.getState(),
  });
  const now = opts.now ?? (() => performance.now());
  let lastCheckpoint = now();
  let checkpointedAt = -1;
  const checkpoint = async () => {
    await saveCheckpoint(runDir, model, trainer, state());
    if (swapTo) await persistSwap();
    await pruneCheckpoints(runDir, config.keepCheckpoints, { every: config.checkpointEvery });
    lastCheckpoint = now();
    checkpointedAt = step;
  };
  const checkpointDue = () =>
    step % config.checkpointEvery === 0 || (config.checkpointMinutes !== undefined && now() - lastCheckpoint >= config.checkpointMinutes * 60_000);
  const evaluateNow = async () => {
    if (!opts.evaluate || !config.evalEvery) return;
    const t = now();
    const values = await opts.evaluate(model.emaGenerator, step);
    await appendMetrics(evalsFile, { step, ...values, seconds: (now() - t) / 1000 } as never);
  };
  const samples = await source.fixedSamples(4);
  const writeSamples = async () => {
    const png = await sampleGridPng(model.emaGenerator, samples.images, samples.masks);
    await fsStore(join(runDir, 'samples')).write(`step-${step}.png`, png);
  };

  try {
    if (step === 0) {
      await checkpoint(); // a run always has a checkpoint to resume from
      await evaluateNow();
    }
    let badInARow = 0;
    const nanLimit = opts.nanRestoreAfter ?? 3;
    while (step < total) {
      if (opts.signal?.aborted) break;
      const t0 = performance.now();
      const batch = await source.next();
      let result;
      try {
        result = trainer.trainStep({ images: batch.images, masks: batch.masks, groups: batch.groups });
      } finally {
        tf.dispose([batch.images, batch.masks]);
      }
      step += 1;
      const seconds = (performance.now() - t0) / 1000;
      const imagesPerSecond = batch.groups.length / seconds;
      if (step % config.logEvery === 0 || result.discarded) {
        // the step's phases (D step, G forward+backward, G's Adam and EMA), to profile the real run
        const phases = { msD: Math.round(result.phaseMs.dStep), msG: Math.round(result.phaseMs.gStepFwdBwd), msAdam: Math.round(result.phaseMs.gAdamEma) };
        // the largest absolute gradient of D and of G (left out when not finite: JSON has no Infinity)
        const grads = {
          ...(Number.isFinite(result.gradMax.d) ? { gradMaxD: result.gradMax.d } : {}),
          ...(Number.isFinite(result.gradMax.g) ? { gradMaxG: result.gradMax.g } : {}),
        };
        await appendMetrics(metricsFile, {
          step,
          ...result.losses,
          discarded: result.discarded,
          ...(result.discardReason ? { discardReason: result.discardReason } : {}),
          r1: result.r1Applied,
          lr: trainer.gOpt.lr,
          imagesPerSecond,
          seconds,
          ...phases,
          ...grads,
        });
      }
      opts.onStep?.({ step, total, losses: result.losses, imagesPerSecond, seconds, discarded: result.discarded });
      if (result.discarded) {
        badInARow += 1;
        const why = result.discardReason === 'spike' ? 'gradient spike (spikeFactor)' : 'non-finite loss or gradient';
        log(`step ${step}: ${why}, step discarded (${badInARow} in a row)`);
        if (badInARow >= nanLimit) {
          const lr = trainer.gOpt.lr / 2;
          trainer.dispose();
          model.dispose();
          if (!(await restore())) throw new CheckpointError('no checkpoint to restore after repeated discarded steps', { path: runDir });
          trainer.gOpt.lr = lr;
          trainer.dOpt.lr = lr;
          await truncateMetrics(metricsFile, step);
          await truncateMetrics(evalsFile, step);
          await appendMetrics(metricsFile, { event: 'nan-restore', step, lr });
          log(`${nanLimit} discarded steps in a row: restored step ${step} and halved the learning rate to ${lr}`);
          badInARow = 0;
        }
        continue;
      }
      badInARow = 0;
      if (step % config.sampleEvery === 0) await writeSamples();
      if (checkpointDue()) await checkpoint();
      if (config.evalEvery && step % config.evalEvery === 0) await evaluateNow();
    }
    const interrupted = step < total;
    if (step % config.sampleEvery !== 0) await writeSamples();
    if (checkpointedAt !== step) await checkpoint();
    return { step, reason: interrupted ? 'interrupted' : 'done', runDir };
  } finally {
    tf.dispose([samples.images, samples.masks]);
    trainer!.dispose();
    model!.dispose();
  }
}
