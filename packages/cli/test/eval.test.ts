import { mkdtempSync, readFileSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';

import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkResultsConsistency, evalResultsSchema } from '@ragan/eval';
import { runCli } from './run-cli.js';
import { sampleFaceChips } from '@ragan/test-utils/sample-faces';

const ragan = (a: string[]) => runCli(a);

// real faces, named like UTKFace files: face-api's sample photos cut into chips
const utk = await sampleFaceChips();
let dir: string;

describe('ragan eval', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ragan-eval-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('evaluates the identity baseline on a small cache: results JSON passes the schema; summary on stdout', async () => {
    const cache = join(dir, 'cache');
    const prep = await ragan([
      'prepare',
      '--data',
      utk,
      '--format',
      'utkface',
      '--size',
      '64',
      '--limit',
      '40',
      '--masks',
      'prior',
      '--no-preview',
      '--out',
      cache,
    ]);
    expect(prep.code, prep.stderr).toBe(0);
    const out = join(dir, 'res', 'id.json');
    // age and identity only (realism runs the same embedder again; background and speed are cheap)
    const r = await ragan([
      'eval',
      '--model',
      'identity',
      '--data',
      cache,
      '--limit',
      '2',
      '--backend',
      'wasm',
      '--metrics',
      'age,identity,background,speed',
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(readFileSync(out, 'utf8'));
    const results = evalResultsSchema.parse(json);
    expect(checkResultsConsistency(results)).toEqual([]);
    expect(results.model.sha256).toBe('baseline:identity');
    expect(results.dataset.evaluated).toBe(2);
    expect(results.backend).toBe('wasm');
    expect(results.versions['@ragan/cli']).toBe('0.1.0');
    expect(results.metrics.identity!.meanDistance).toBeLessThan(1e-3);
    expect(results.metrics.age!.pairs).toBe(18);
    expect(results.metrics.realism).toBeNull();
    expect(r.stdout).toMatch(/target group +pairs +age hit/);
    expect(r.stdout).toMatch(/results: .*id\.json/);
    expect(r.stderr).toMatch(/eval .*2\/2/); // progress on stderr
  }, 300_000);

  it('bad input gives one clear line and a non-zero exit', async () => {
    const cache = join(dir, 'cache');
    const badModel = join(dir, 'badmodel');
    mkdirSync(badModel, { recursive: true });
    writeFileSync(join(badModel, 'manifest.json'), '{"format": "ragan-model"}');
    // Independent runs: start them together (each spends most of its time starting up).
    const [missing, bad, noModel, split, metric] = await Promise.all([
      ragan(['eval', '--model', 'identity', '--data', join(dir, 'nope'), '--out', join(dir, 'x.json')]),
      ragan(['eval', '--model', badModel, '--data', cache, '--out', join(dir, 'y.json')]),
      ragan(['eval', '--model', join(dir, 'absent'), '--data', cache, '--out', join(dir, 'z.json')]),
      ragan(['eval', '--model', 'identity', '--data', cache, '--split', 'validation', '--out', join(dir, 'w.json')]),
      ragan(['eval', '--model', 'identity', '--data', cache, '--metrics', 'age,beauty', '--out', join(dir, 'v.json')]),
    ]);
    for (const r of [missing, bad, noModel, split, metric]) expect(r.code).not.toBe(0);
    expect(missing.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^ragan: .*nope.*index\.json: no cache index here; make one with `ragan prepare/),
    ]);
    const lines = bad.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('ragan: ') && !/using |install /.test(l));
    expect(lines).toEqual([expect.stringMatching(/^ragan: .*badmodel.*manifest\.json/)]);
    expect(noModel.stderr).toMatch(/ragan: .*absent.*manifest\.json: file not found/);
    expect(split.stderr).toMatch(/ragan: .*no "validation" samples \(its splits: /);
    expect(metric.stderr).toMatch(/ragan: metrics: unknown metric "beauty"/);
  }, 300_000);
});
