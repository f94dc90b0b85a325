import { basename } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '@ragan/core';
import { SubmissionError, checkSubmission, formatComparison, readSubmissionFile, type EvalResults } from '@ragan/eval';

/** Reads and validates results files (as `leaderboard add` does) and prints them side by side as markdown. */
export async function runCompare(files: string[], labels?: string): Promise<string> {
  const names = labels ? labels.split(',').map((s) => s.trim()) : files.map((f) => basename(f).replace(/\.json$/i, ''));
  if (names.length !== files.length) throw new ConfigError('--labels', `give one label per results file (${files.length}), got ${names.length}`);
  const entries: Array<{ label: string; results: EvalResults }> = [];
  for (const [i, file] of files.entries()) {
    const check = checkSubmission(await readSubmissionFile(file));
    if (!check.ok) throw new SubmissionError(file, check.reasons);
    entries.push({ label: names[i]!, results: check.results });
  }
  try {
    return formatComparison(entries);
  } catch (e) {
    throw new ConfigError('results', (e as Error).message, { cause: e });
  }
}

export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description('print `ragan eval` results files side by side as a markdown table (for model cards and notes)')
    .argument('<results...>', 'results JSON files from `ragan eval`, all on the same faces')
    .option('--labels <list>', 'comma-separated column titles (default: the file names)')
    .addHelpText(
      'after',
      `
Example:
  ragan compare results/bundled.json results/identity.json results/random.json --labels model,identity,random

Every file is validated as \`ragan leaderboard add\` does; files evaluated on other faces (dataset or
subset hash) are refused, since their columns would not be comparable.`,
    )
    .action(async (files: string[], flags: { labels?: string }) => {
      process.stdout.write(await runCompare(files, flags.labels));
    });
}
