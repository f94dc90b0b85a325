import { resolve } from 'node:path';
import type { Command } from 'commander';
import { writeReport } from '@ragan/train';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('write RUN/report.html: loss curves and the latest sample grids of a training run')
    .argument('<run>', 'a run folder from `ragan train`')
    .action(async (run: string) => {
      const file = await writeReport(resolve(run));
      process.stdout.write(`${file}\n`);
    });
}
