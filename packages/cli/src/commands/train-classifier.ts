import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError, resolveModelConfig, saveModelFolder, type PresetName } from '@ragan/core';
import { fsStore } from '@ragan/core/node';
import { openCache } from '@ragan/data';
import { createProgressBar } from '../progress.js';
import { trainClassifier } from '@ragan/train';
import { initCliBackend } from '../backend.js';
import { applyConvRuntime, CONV_RUNTIME_HELP } from '../conv-runtime.js';
import { defaultThreads } from './train.js';

export function registerTrainClassifier(program: Command): void {
  program
    .command('train-classifier')
    .description('train the auxiliary age-group classifier on real labels and report its test accuracy')
    .requiredOption('--data <cache>', 'training cache from `ragan prepare`')
    .requiredOption('--out <dir>', 'model folder to write (module "classifier")')
    .option('--preset <name>', 'tiny | small | paper (must match the cache size)', 'tiny')
    .option('--steps <n>', 'training steps', '300')
    .option('--batch <n>', 'images per step', '16')
    .option('--seed <n>', 'seed', '0')
    .option('--backend <name>', 'tensorflow-gpu | tensorflow | wasm | cpu')
    .option('--conv-runtime <where>', `${CONV_RUNTIME_HELP}; default auto`)
    .option(
      '--robust',
      'anti-aliased architecture (clsArch robust), corrupted faces (shift, colour, blur, noise, stripes) and adversarial (PGD) training: slower and less ' +
        'accurate on clean faces, meant to resist the stripes a generator learns to draw against a plainly trained classifier',
    )
    .option('--eps <x>', 'with --robust: radius of the adversarial L∞ ball, in [-1, 1] pixel units', '0.03')
    .option('--pgd-steps <n>', 'with --robust: PGD steps per batch', '2')
    .option('--clsc0 <n>', "channels of the classifier at full resolution (default: the preset's clsC0)")
    .addHelpText(
      'after',
      '\nExamples:\n  ragan train-classifier --data cache64 --out runs/classifier64\n  ragan train-classifier --data cache128 --preset small --robust ' +
        '--steps 3000 --batch 32 --out runs/classifier128\n  ragan train --preset tiny --data cache64 --classifier runs/classifier64 --out runs/tiny',
    )
    .action(
      async (flags: {
        data: string;
        out: string;
        preset: string;
        steps: string;
        batch: string;
        seed: string;
        backend?: string;
        convRuntime?: string;
        robust?: boolean;
        eps: string;
        pgdSteps: string;
        clsc0?: string;
      }) => {
        for (const k of ['steps', 'batch', 'seed', 'pgdSteps'] as const)
          if (!/^\d+$/.test(flags[k])) throw new ConfigError(k, `must be a whole number, got "${flags[k]}"`);
        if (flags.clsc0 !== undefined && !/^\d+$/.test(flags.clsc0)) throw new ConfigError('clsc0', `must be a whole number, got "${flags.clsc0}"`);
        const eps = Number(flags.eps);
        if (!(eps >= 0 && eps < 1)) throw new ConfigError('eps', `must be a number in [0, 1), got "${flags.eps}"`);
        const cacheDir = resolve(flags.data);
        const cache = await openCache(cacheDir);
        const size = cache.index.args.size;
        await cache.close();
        const config = resolveModelConfig({
          preset: flags.preset as PresetName,
          ageGroups: cache.index.groups.name as never,
          ...(flags.robust ? { clsArch: 'robust' as const } : {}),
          ...(flags.clsc0 !== undefined ? { clsC0: Number(flags.clsc0) } : {}),
        });
        if (config.resolution !== size)
          throw new ConfigError('preset', `${flags.preset} works at ${config.resolution}px but ${flags.data} holds ${size}px images`);
        const info = await initCliBackend(flags.backend);
        const convLine = await applyConvRuntime(flags.convRuntime, info, { threads: defaultThreads(), log: (line) => process.stderr.write(`${line}\n`) });
        if (convLine) process.stderr.write(`${convLine}\n`);
        const steps = Number(flags.steps);
        const bar = createProgressBar({ total: steps, label: 'classifier', unit: 'step' });
        const robust = flags.robust ? { augment: {}, ...(eps > 0 ? { adversarial: { eps, steps: Number(flags.pgdSteps) } } : {}) } : {};
        const r = await trainClassifier({
          cacheDir,
          config,
          steps,
          batch: Number(flags.batch),
          seed: Number(flags.seed),
          ...robust,
          onStep: (s, _t, loss) => bar.update(s, `loss ${loss.toFixed(3)}`),
        });
        bar.finish();
        const extra = {
          testAccuracy: r.testAccuracy,
          testAccuracyWithinOne: r.testAccuracyWithinOne,
          testSamples: r.testSamples,
          ...(r.testAdversarialAccuracy !== undefined ? { testAdversarialAccuracy: r.testAdversarialAccuracy, eps } : {}),
        };
        await saveModelFolder(fsStore(resolve(flags.out)), { config, modules: { classifier: r.classifier }, extra });
        r.classifier.dispose();
        const advLine = r.testAdversarialAccuracy !== undefined ? `, ${(r.testAdversarialAccuracy * 100).toFixed(1)} % on PGD examples (eps ${eps})` : '';
        process.stdout.write(
          `test accuracy ${(r.testAccuracy * 100).toFixed(1)} % (within one group ${(r.testAccuracyWithinOne * 100).toFixed(1)} %${advLine}) on ` +
            `${r.testSamples} test faces; wrote ${resolve(flags.out)}\n`,
        );
      },
    );
}
