import { basename } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '@ragan/core';
import { SubmissionError, checkResultsConsistency, evalResultsSchema, formatComparison, readSubmissionFile, type EvalResults } from '@ragan/eval';

/**
 * Reads results files (schema and cross-field consistency checked; unlike `leaderboard add`, metrics
 * may be missing) and prints them side by side as markdown.
 */
export async function runCompare(files: string[], labels?: string): Promise<string> {
  const names = labels ? labels.split(',').map((s) => s.trim()) : files.map((f) => basename(f).replace(/\.json$/i, ''));
  if (names.length !== files.length) throw new ConfigError('--labels', `give one label per results file (${files.length}), got ${names.length}`);
  const bad = names.find((n) => n === '' || /[|\n]/.test(n));
  if (bad !== undefined) throw new ConfigError('--labels', `labels must be non-empty and hold no "|" or line break, got "${bad}"`);
  if (new Set(names).size !== names.length) throw new ConfigError('--labels', `two columns would have the same title (${names.join(', ')}); give --labels`);
  const entries: Array<{ label: string; results: EvalResults }> = [];
  for (const [i, file] of files.entries()) {
    const parsed = evalResultsSchema.safeParse(await readSubmissionFile(file));
    if (!parsed.success)
      throw new SubmissionError(
        file,
        parsed.error.issues.map((x) => `${x.path.join('.') || '(root)'}: ${x.message}`),
      );
    const reasons = checkResultsConsistency(parsed.data);
    if (reasons.length > 0) throw new SubmissionError(file, reasons);
    entries.push({ label: names[i]!, results: parsed.data });
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
