import { resolve } from 'node:path';
import type { Command } from 'commander';
import { initBackend } from '@ragan/core';
import { writeSnapshot } from '@ragan/train';

export function registerSnapshot(program: Command): void {
  program
    .command('snapshot')
    .description('write a compact, resumable copy of a training run (float16, ~40 % of a checkpoint) to keep or commit')
    .argument('<run>', 'a run folder from `ragan train`')
    .requiredOption('--out <dir>', 'snapshot folder to write (replaced whole if it exists)')
    .option('--metrics-every <n>', 'keep every n-th row of metrics.jsonl (evals.jsonl is kept whole)', '10')
    .option('--with-samples', "also copy the newest sample grid (it shows training faces: keep it out of repositories when the data's licence says so)")
    .addHelpText(
      'after',
      `
The snapshot is itself a run folder: config.json, checkpoints/step-N/ (its newest checkpoint with every
network and optimizer moment in float16), evals.jsonl and a thinned metrics.jsonl; no sample grid unless
--with-samples (grids show faces of the training data). Continue it elsewhere (not bit-exact, because of float16) into a new folder:

  ragan snapshot runs/small --out snapshots/small
  ragan train --resume snapshots/small --data cache128 --out runs/small-continued --steps 50000`,
    )
    .action(async (run: string, flags: { out: string; metricsEvery: string; withSamples?: boolean }) => {
      const every = Number(flags.metricsEvery);
      if (!(Number.isInteger(every) && every >= 1)) throw new Error(`--metrics-every must be a whole number ≥ 1, got "${flags.metricsEvery}"`);
      // a few element-wise ops on the moments: the cpu backend, chosen quietly (tfjs would print its Node.js banner)
      await initBackend({ backend: 'cpu', quiet: true });
      const r = await writeSnapshot(resolve(run), resolve(flags.out), { metricsEvery: every, samples: flags.withSamples === true });
      process.stdout.write(`snapshot of step ${r.step}: ${r.dir} (${(r.bytes / 1024 / 1024).toFixed(1)} MiB, ${r.files.length} files)\n`);
    });
}
