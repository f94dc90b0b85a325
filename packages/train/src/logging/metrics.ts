import { appendFile, readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { fsStore } from '@ragan/core/node';

/** One line of metrics.jsonl: a training step (with `step`) or an event (with `event`). */
export type MetricsRow = { step: number; [k: string]: number | string | boolean } | { event: string; step: number; [k: string]: unknown };

export async function appendMetrics(file: string, row: MetricsRow): Promise<void> {
  await appendFile(file, `${JSON.stringify(row)}\n`);
}

export async function readMetrics(file: string): Promise<MetricsRow[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return [];
  }
  const rows: MetricsRow[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      rows.push(JSON.parse(line) as MetricsRow);
    } catch {
      // a line cut by a kill -9 mid-write: dropped
    }
  }
  return rows;
}

/**
 * On resume from step N: keep the rows up to N (rows logged after the last checkpoint belong to
 * steps that will be run again) and rewrite the file atomically.
 */
export async function truncateMetrics(file: string, step: number): Promise<void> {
  const kept = (await readMetrics(file)).filter((r) => r.step <= step);
  const text = kept.map((r) => JSON.stringify(r)).join('\n') + (kept.length ? '\n' : '');
  await fsStore(dirname(file)).write(basename(file), new TextEncoder().encode(text));
}
