import { availableParallelism } from 'node:os';
import { cp, readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError, saveModelFolder } from '@ragan/core';
import { fsStore } from '@ragan/core/node';
import { faceEmbedding, loadFaceModels, openCache } from '@ragan/data';
import { createProgressBar } from '../progress.js';
import { cacheBatchSource, checkSourceFits, resolveTrainConfig, runTraining, trainClassifier, writeReport } from '@ragan/train';
import { initCliBackend } from '../backend.js';
import { applyConvRuntime, CONV_RUNTIME_HELP } from '../conv-runtime.js';
import { trainingEvaluator } from '../eval-setup.js';

interface TrainFlags {
  preset?: string;
  data?: string;
  out?: string;
  resume?: string;
  steps?: string;
  batch?: string;
  backend?: string;
  config?: string;
  classifier?: string;
  classifierSteps?: string;
  seed?: string;
  threads?: string;
  convRuntime?: string;
  dryRun?: boolean;
}

const int = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new ConfigError(name, `must be a whole number, got "${v}"`);
  return Number(v);
};

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ConfigError('config', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ConfigError('config', `${file} is not valid JSON: ${(e as Error).message}`);
  }
}

const exists = async (p: string) => (await stat(p).catch(() => undefined)) !== undefined;
const isDir = async (p: string) => (await stat(p).catch(() => undefined))?.isDirectory() ?? false;
const isFile = async (p: string) => (await stat(p).catch(() => undefined))?.isFile() ?? false;

/**
 * Removes what a new run wrote before it failed ahead of its first step: the whole folder if this run
 * made it, else only the run's own files (and the classifier it trained), never anything else in it.
 */
async function removeUnstartedRun(runDir: string, existed: boolean, trainedClassifier: boolean): Promise<void> {
  if (!existed) {
    await rm(runDir, { recursive: true, force: true });
    return;
  }
  const own = ['config.json', 'metrics.jsonl', 'evals.jsonl', 'samples', 'checkpoints', 'report.html', ...(trainedClassifier ? ['classifier'] : [])];
  for (const name of own) await rm(join(runDir, name), { recursive: true, force: true });
}

/**
 * wasm training threads by default: on a 2-core Xeon two threads made a `tiny` batch-4 step 1.0–1.5×
 * faster than one (bench/results, runs vary), never slower; on a 2-core AMD EPYC a `small` batch-4 step
 * about 1.15× faster (2.97 against 3.42 s) and a `tiny` one as fast (362 against 357 ms; medians of
 * alternating processes, from two sets of rounds). enableWasmThreads falls back to one thread with a
 * message when threads cannot start. Capped at 4 (not measured beyond 2 cores).
 */
export function defaultThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

/** The train config's defaults, from the schema itself (so the help cannot drift from it). */
const DEFAULTS = resolveTrainConfig({});

/** `--help`'s paragraph of defaults: what a run uses where neither a flag nor --config sets it. */
export function trainDefaultsHelp(): string {
  const d = DEFAULTS;
  const l = d.losses;
  return [
    `Defaults (a --config file or a flag sets any of them): preset ${d.preset}, steps ${d.steps}, batch ${d.batch}, seed ${d.seed};`,
    `Adam lr ${d.optimizer.lr}, betas ${d.optimizer.beta1} / ${d.optimizer.beta2}, style path lr ×${d.optimizer.styleLrMultiplier}; EMA decay ${d.emaDecay};`,
    `R1 gamma ${d.r1.gamma} every ${d.r1.every} steps; loss weights adv ${l.adv}, age ${l.age}, rec ${l.rec}, cyc ${l.cyc}, idFeature ${l.idFeature},`,
    `idNetwork ${l.idNetwork} (used only with identityNetwork: ${d.identityNetwork}), chroma ${l.chroma} (colour cues in the face, after a 4×4 blur),`,
    `brightness ${l.brightness} (brightness cues: a blurred change beyond 0.25 of the [-1, 1] range);`,
    `flip ${d.flip ? 'on' : 'off'}; logEvery ${d.logEvery}, sampleEvery ${d.sampleEvery},`,
    `checkpointEvery ${d.checkpointEvery}, keepCheckpoints ${d.keepCheckpoints} (on that schedule, plus the newest); spikeFactor ${d.spikeFactor}`,
    `(a step whose largest gradient is that many times its typical value is discarded; 0: off); no checkpointMinutes, evalEvery or ageShift unless set.`,
  ].join('\n');
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train RAGAN on a prepared cache; resumable, interruptible (Ctrl-C checkpoints and exits)')
    .option('--preset <name>', `model size: tiny (64²) | small (128²) | paper (256²) (default: ${DEFAULTS.preset})`)
    .option('--data <cache>', 'training cache written by `ragan prepare` (its --size must match the preset)')
    .option('--out <run>', 'new run folder (config.json, metrics.jsonl, samples/, checkpoints/)')
    .option(
      '--resume <run>',
      'continue a run (or a `ragan snapshot`) from its newest valid checkpoint (needs --data too, unless the run records it); with --out, in a copy there',
    )
    .option('--steps <n>', `train up to this total step count (default: ${DEFAULTS.steps})`)
    .option('--batch <n>', `images per step (default: ${DEFAULTS.batch})`)
    .option('--backend <name>', 'tensorflow-gpu | tensorflow | wasm | cpu (default: RAGAN_BACKEND, else the fastest installed)')
    .option('--threads <n>', `wasm: XNNPACK threads (default: the machine's cores, at most 4: ${defaultThreads()} here; 1 turns threads off)`)
    .option('--conv-runtime <where>', `${CONV_RUNTIME_HELP}; default auto`)
    .option('--config <file>', 'JSON train config; flags override it (see @ragan/train TrainConfigSchema)')
    .option(
      '--classifier <dir>',
      'a model folder from `ragan train-classifier` (it may read smaller faces than the model makes: they are averaged down to its size); ' +
        'without it one is trained first. With --resume: the run goes on with this frozen classifier (G, D and their optimizers continue)',
    )
    .option('--classifier-steps <n>', 'steps for that classifier (default 300)')
    .option('--seed <n>', `seed of initialisation, sampling and target draws (default: ${DEFAULTS.seed})`)
    .option('--dry-run', 'print the fully resolved config and exit')
    .addHelpText(
      'after',
      `
Examples:
  ragan prepare --data faces/ --format utkface --size 64 --out cache64
  ragan train --preset tiny --data cache64 --steps 2000 --batch 8 --out runs/tiny
  ragan train --resume runs/tiny --steps 4000
  ragan train --resume snapshots/small --data cache128 --out runs/small --steps 60000   # a snapshot, continued in a copy
  ragan train --resume runs/small --classifier classifiers/c64 --steps 60000   # the same run, a new frozen age classifier
  ragan report runs/tiny          # loss curves and sample grids as HTML

Run folder: config.json (resolved, written before step 0), metrics.jsonl (one row per step),
samples/step-N.png (test faces × every age group), checkpoints/step-N/ (the newest few kept),
evals.jsonl (with "evalEvery" in the config: face-api's age estimate per target group and identity on
"evalFaces" fixed test faces; \`ragan report\` plots them).
Ctrl-C (or SIGTERM) finishes the current step, writes a checkpoint and exits 0.

${trainDefaultsHelp()}`,
    )
    .action(async (flags: TrainFlags) => {
      if (!flags.resume && !flags.out) throw new ConfigError('out', 'give --out RUN for a new run, or --resume RUN to continue one');
      let runDir = resolve(flags.resume ?? flags.out!);
      // --resume SRC --out NEW: continue SRC (a run or a snapshot) in a new folder, leaving SRC as it is
      if (flags.resume && flags.out && resolve(flags.out) !== runDir) {
        const dst = resolve(flags.out);
        if (!(await isFile(join(runDir, 'config.json')))) throw new ConfigError('resume', `${runDir} is not a run folder or snapshot (no config.json)`);
        if (await isFile(join(dst, 'config.json'))) throw new ConfigError('out', `${dst} already holds a run: continue it with --resume ${flags.out}`);
        if (!flags.dryRun) {
          await cp(runDir, dst, { recursive: true, errorOnExist: true, force: false });
          process.stderr.write(`continuing ${runDir} in ${dst} (${runDir} is left as it is)\n`);
          runDir = dst;
        }
      }
      let input: Record<string, unknown> = {};
      if (flags.resume) {
        const cfg = (await readJson(join(runDir, 'config.json'))) as Record<string, unknown>;
        input = { ...cfg };
      } else if (flags.config) {
        input = { ...((await readJson(flags.config)) as Record<string, unknown>) };
      }
      const data = flags.data ?? (input.data as string | undefined);
      if (flags.preset) input.preset = flags.preset;
      if (flags.steps) input.steps = int('steps', flags.steps);
      if (flags.batch) input.batch = int('batch', flags.batch);
      if (flags.seed) input.seed = int('seed', flags.seed);
      if (flags.backend) input.backend = flags.backend;
      if (data) input.data = resolve(data);
      delete input.resolvedModel;
      const config = resolveTrainConfig(input);
      if (flags.dryRun) {
        process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
        return;
      }
      if (!config.data) throw new ConfigError('data', 'give --data CACHE (a folder written by `ragan prepare`)');
      if (!flags.data && !(await isDir(config.data))) {
        throw new ConfigError(
          'data',
          `this run was trained on ${config.data}, which is not on this machine: prepare the same data (see the run's config.json) and pass --data CACHE`,
        );
      }
      const threads = int('threads', flags.threads) ?? defaultThreads();
      const info = await initCliBackend(flags.backend ?? (config.backend === 'auto' ? undefined : config.backend), { threads });
      const convLine = await applyConvRuntime(flags.convRuntime, info, { threads, log: (line) => process.stderr.write(`${line}\n`) });
      if (convLine) process.stderr.write(`${convLine}\n`);
      const source = await cacheBatchSource(config.data, {
        batch: config.batch,
        seed: config.seed,
        flip: config.flip,
        balanceGroups: config.balanceGroups ?? false,
        log: (line) => process.stderr.write(`${line}\n`),
      });
      // A new run that fails before its first step leaves nothing behind, so that the same --out works again.
      const existed = await exists(runDir);
      let owned = false;
      let stepped = false;
      let trainedClassifier = false;
      let evaluator: Awaited<ReturnType<typeof trainingEvaluator>> | undefined;
      const controller = new AbortController();
      let signals = 0;
      const onSignal = (sig: string) => {
        signals += 1;
        if (signals > 1) {
          process.stderr.write(`\n${sig} again: exiting without a checkpoint (the last one stays valid)\n`);
          process.exit(130);
        }
        process.stderr.write(`\n${sig}: finishing the current step, then writing a checkpoint (press again to exit now)\n`);
        controller.abort();
      };
      const sigint = () => onSignal('SIGINT');
      const sigterm = () => onSignal('SIGTERM');
      try {
        if (!flags.resume) {
          if (await isFile(join(runDir, 'config.json')))
            throw new ConfigError('out', `${runDir} already holds a run (config.json); continue it with --resume, or choose another --out`);
          owned = true;
        }
        // Every input is checked before the classifier trains (minutes) or anything is written.
        checkSourceFits(config, source);
        let classifierDir = flags.classifier ? resolve(flags.classifier) : undefined;
        const trainsClassifier = !flags.resume && !classifierDir && !(await isDir(join(runDir, 'classifier')));
        if ((trainsClassifier || config.evalEvery) && source.splits?.test === 0) {
          const uses = [
            ...(trainsClassifier ? ['the age classifier is measured on them'] : []),
            ...(config.evalEvery ? ['"evalEvery" evaluates on them'] : []),
          ].join(' and ');
          throw new ConfigError(
            'data',
            `${config.data} has no test faces (all ${source.splits.train} are in the train split): ${uses}; prepare more faces so that some land in the ` +
              `test split${trainsClassifier ? ', or give --classifier' : ''}`,
          );
        }

        let identityEmbedding: ((x: import('@tensorflow/tfjs').Tensor4D) => import('@tensorflow/tfjs').Tensor2D) | undefined;
        if (config.identityNetwork) {
          // face-api's 128-D embedding, frozen; UTKFace crops are framed tighter than aligned FFHQ-Aging crops
          await loadFaceModels({ recognition: true });
          const cache = await openCache(config.data);
          const region = cache.index.args.format === 'utkface' ? 'full' : 'aligned';
          await cache.close();
          identityEmbedding = (x) => faceEmbedding(x, { range: 'signed', region });
          process.stderr.write(`identity-network loss: face-api 128-D embedding (region ${region})\n`);
        }

        // The fixed test faces of `evalEvery` (face-api's age regressor and embedding, as `ragan eval`)
        evaluator = config.evalEvery ? await trainingEvaluator(config.data, config.evalFaces ?? 48) : undefined;
        if (evaluator)
          process.stderr.write(`evaluating ${config.evalFaces ?? 48} test faces every ${config.evalEvery} steps → ${join(runDir, 'evals.jsonl')}\n`);

        if (trainsClassifier) {
          classifierDir = join(runDir, 'classifier');
          const steps = int('classifier-steps', flags.classifierSteps) ?? 300;
          process.stderr.write(`no --classifier given: training the age classifier first (${steps} steps) → ${classifierDir}\n`);
          const bar = createProgressBar({ total: steps, label: 'classifier', unit: 'step' });
          const r = await trainClassifier({
            cacheDir: config.data,
            config: config.resolvedModel,
            steps,
            seed: config.seed,
            onStep: (s, _t, loss) => bar.update(s, `loss ${loss.toFixed(3)}`),
          });
          bar.finish();
          trainedClassifier = true;
          await saveModelFolder(fsStore(classifierDir), {
            config: config.resolvedModel,
            modules: { classifier: r.classifier },
            extra: { testAccuracy: r.testAccuracy, testAccuracyWithinOne: r.testAccuracyWithinOne, testSamples: r.testSamples },
          });
          r.classifier.dispose();
          process.stderr.write(
            `classifier test accuracy ${(r.testAccuracy * 100).toFixed(1)} % (±1 group: ${(r.testAccuracyWithinOne * 100).toFixed(1)} %) on ` +
              `${r.testSamples} faces\n`,
          );
        } else if (!flags.resume && !classifierDir) {
          classifierDir = join(runDir, 'classifier');
        }

        process.on('SIGINT', sigint);
        process.on('SIGTERM', sigterm);
        const total = config.steps;
        // made at the first step, which says where a resumed run started: the rate counts this session's steps only
        let bar: ReturnType<typeof createProgressBar> | undefined;
        const result = await runTraining({
          runDir,
          config,
          resume: Boolean(flags.resume),
          steps: total,
          source,
          ...(classifierDir ? { classifierDir } : {}),
          ...(identityEmbedding ? { identityEmbedding } : {}),
          ...(evaluator ? { evaluate: evaluator.evaluate } : {}),
          signal: controller.signal,
          log: (line) => process.stderr.write(`\n${line}\n`),
          onStep: (s) => {
            stepped = true;
            bar ??= createProgressBar({
              total,
              label: `train ${config.preset} (${info.name})`,
              unit: 'step',
              start: s.step - 1,
              startedAt: Date.now() - s.seconds * 1000,
            });
            bar.update(
              s.step,
              `D ${s.losses.d_total?.toFixed(3)} G ${s.losses.g_total?.toFixed(3)} rec ${s.losses.g_rec?.toFixed(3)} ${s.imagesPerSecond.toFixed(2)} img/s`,
            );
          },
        });
        stepped = true; // returned: the run has its checkpoint, even if interrupted at step 0
        bar?.finish();
        await writeReport(runDir);
        process.stderr.write(
          result.reason === 'done'
            ? `trained to step ${result.step}: ${runDir} (report.html, samples/, checkpoints/)\n`
            : `stopped at step ${result.step} with a checkpoint; continue with: ragan train --resume ${runDir} --steps ${total}\n`,
        );
      } catch (e) {
        if (owned && !stepped) await removeUnstartedRun(runDir, existed, trainedClassifier);
        throw e;
      } finally {
        process.off('SIGINT', sigint);
        process.off('SIGTERM', sigterm);
        await source.close?.();
        await evaluator?.close();
      }
    });
}
