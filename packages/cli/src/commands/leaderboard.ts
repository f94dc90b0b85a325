import { resolve } from 'node:path';
import type { Command } from 'commander';
import { addSubmission, buildLeaderboardSite, readSubmissionFile } from '@ragan/eval';

export function registerLeaderboard(program: Command): void {
  const lb = program
    .command('leaderboard')
    .description('a leaderboard of `ragan eval` results: a folder of validated submissions, and a static page')
    .addHelpText(
      'after',
      `
Examples:
  ragan leaderboard add results/identity.json --board board
  ragan leaderboard build --board board --out site      # writes site/index.html`,
    );

  lb.command('add <results>')
    .description('validate a results file and add it to the board (refused with every reason when invalid)')
    .requiredOption('--board <dir>', 'board folder (created on the first add)')
    .action(async (file: string, flags: { board: string }) => {
      const json = await readSubmissionFile(file);
      const { entry, index } = await addSubmission(resolve(flags.board), json, file);
      process.stdout.write(
        `added ${entry.id}: ${entry.model.name} (seed ${entry.seed}); the board has ${index.entries.length} ` +
          `${index.entries.length === 1 ? 'entry' : 'entries'}\n`,
      );
    });

  lb.command('build')
    .description('write a static page (sortable table, per-group charts) for the board')
    .requiredOption('--board <dir>', 'board folder')
    .requiredOption('--out <dir>', 'site folder; index.html is written there')
    .option('--title <text>', 'page title')
    .action(async (flags: { board: string; out: string; title?: string }) => {
      const { file, entries } = await buildLeaderboardSite(resolve(flags.board), resolve(flags.out), flags.title ? { title: flags.title } : {});
      process.stdout.write(`wrote ${file} (${entries} ${entries === 1 ? 'entry' : 'entries'})\n`);
    });
}
