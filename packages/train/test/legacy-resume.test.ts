import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@ragan/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMetrics } from '../src/logging/metrics.js';
import { runTraining } from '../src/trainer/run.js';
import { legacySource } from './legacy-fixture.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'run-2026-12-07');

describe('a checkpoint written by an earlier version', () => {
  const dirs: string[] = [];
  beforeAll(async () => {
    // the cpu backend: exact resume is promised there
    await initBackend({ backend: 'cpu', quiet: true });
  });
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('resumes exactly: the losses of the next steps are the ones that version logged going on uninterrupted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ragan-legacy-'));
    dirs.push(dir);
    cpSync(FIXTURE, dir, { recursive: true });
    const source = legacySource();
    try {
      await expect(runTraining({ runDir: dir, resume: true, source })).resolves.toMatchObject({ step: 4, reason: 'done' });
    } finally {
      source.close?.();
    }
    const expected = JSON.parse(readFileSync(join(FIXTURE, 'expected-after-resume.json'), 'utf8')) as Array<Record<string, number>>;
    const rows = (await readMetrics(join(dir, 'metrics.jsonl'))).filter((r) => !('event' in r) && (r.step as number) > 2);
    expect(rows.map((r) => r.step)).toEqual(expected.map((r) => r.step));
    rows.forEach((row, i) => {
      for (const [k, v] of Object.entries(expected[i]!)) expect(row[k] as number, `step ${row.step} ${k}`).toBeCloseTo(v, 5);
    });
  }, 120_000);
});
