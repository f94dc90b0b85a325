/**
 * Shared by the package benchmarks: the median of timed runs, and writing a section's results
 * (`bench/results/<name>.json`) atomically, with the machine it ran on, for `bench/run.ts` to merge.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const resultsDir = join(dirname(fileURLToPath(import.meta.url)), 'results');

/** The conv layer every section times (packages/backend/bench/conv.ts), in the tfjs figures' notation. */
export const CONV_SHAPE = 'x[1,64,64,128] w[3,3,128,128] same';
/** Its floating-point operations per run (2 per multiply-add). */
export const CONV_FLOP = 2 * 64 * 64 * 128 * 128 * 9;

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Writes `bench/results/<file>`: `fields`, then node, cpu, cores, date, and `results`. Returns the path. */
export function writeSectionResults(file: string, fields: Record<string, unknown>, results: readonly Record<string, unknown>[]): string {
  const doc = { ...fields, node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, date: new Date().toISOString(), results };
  mkdirSync(resultsDir, { recursive: true });
  const path = join(resultsDir, file);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(doc, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
  process.stderr.write(`bench: wrote ${path}\n`);
  return path;
}
