import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@ragan/core';
import { prepareCache } from '@ragan/data';
import { listCheckpoints, loadLatestCheckpoint, readMetrics } from '@ragan/train';
import { cliArgs, runCli } from './run-cli.js';
import { sampleFaceChips } from '@ragan/test-utils/sample-faces';

const ragan = (a: string[]) => runCli(a, { timeout: 600_000 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The highest step in a run's metrics.jsonl so far (0 when none); a half-written last line is skipped. */
function loggedStep(run: string): number {
  let text: string;
  try {
    text = readFileSync(join(run, 'metrics.jsonl'), 'utf8');
  } catch {
    return 0;
  }
  let max = 0;
  for (const line of text.split('\n')) {
    try {
      const row = JSON.parse(line) as { step?: number; event?: string };
      if (row.event === undefined && typeof row.step === 'number') max = Math.max(max, row.step);
    } catch {
      // an empty or half-written line
    }
  }
  return max;
}

describe('ragan train (end to end on real faces, 16 px)', () => {
  let root: string;
  let cache: string;
  let cfg: string;
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', quiet: true });
    root = mkdtempSync(join(tmpdir(), 'ragan-cli-train-'));
    cache = join(root, 'cache');
    // real faces named like UTKFace files: face-api's sample photos cut into chips
    await prepareCache({ data: await sampleFaceChips(), format: 'utkface', size: 16, limit: 60, out: cache, masks: 'prior', preview: false });
    cfg = join(root, 'config.json');
    // tiny at 16 px keeps each step well under a second; checkpoints every 3 steps
    writeFileSync(
      cfg,
      JSON.stringify({
        preset: 'tiny',
        model: { resolution: 16 },
        batch: 2,
        checkpointEvery: 3,
        sampleEvery: 5,
        keepCheckpoints: 2,
        r1: { gamma: 10, every: 4 },
      }),
    );
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('validates the config and names the field; --dry-run prints the resolved config', async () => {
    const bad = join(root, 'bad.json');
    writeFileSync(bad, JSON.stringify({ batch: 0 }));
    const r = await ragan(['train', '--config', bad, '--data', cache, '--out', join(root, 'x')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/batch/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // one line, no stack trace
    const dry = await ragan(['train', '--config', cfg, '--data', cache, '--out', join(root, 'y'), '--steps', '7', '--dry-run']);
    expect(dry.code).toBe(0);
    const resolved = JSON.parse(dry.stdout) as { steps: number; resolvedModel: { resolution: number } };
    expect(resolved.steps).toBe(7);
    expect(resolved.resolvedModel.resolution).toBe(16);
    expect(existsSync(join(root, 'y'))).toBe(false);
  }, 120_000);

  it('measures the fixed test faces as it trains: age, identity and cue shares in evals.jsonl, plotted in report.html', async () => {
    const evalCfg = join(root, 'eval-config.json');
    writeFileSync(evalCfg, JSON.stringify({ ...JSON.parse(readFileSync(cfg, 'utf8')), evalEvery: 2, evalFaces: 3 }));
    const run = join(root, 'evals');
    const r = await ragan(['train', '--config', evalCfg, '--data', cache, '--out', run, '--steps', '2', '--backend', 'wasm', '--classifier-steps', '2']);
    expect(r.code, r.stderr).toBe(0);
    const rows = await readMetrics(join(run, 'evals.jsonl'));
    expect(rows.map((row) => row.step)).toEqual([0, 2]);
    for (const row of rows as Array<Record<string, unknown>>) {
      expect(row.faces).toBe(3);
      for (const k of ['hitRate', 'withinOne', 'identityShare', 'brightCue', 'colourCue']) {
        expect(typeof row[k], k).toBe('number');
        expect(row[k] as number, k).toBeGreaterThanOrEqual(0);
        expect(row[k] as number, k).toBeLessThanOrEqual(1);
      }
    }
    const html = readFileSync(join(run, 'report.html'), 'utf8');
    expect(html).toContain('painted darker/brighter (brightCue) or recoloured (colourCue)');
  }, 600_000);

  it('survives kill -9 at random moments: every resume starts from the last complete checkpoint', async () => {
    const run = join(root, 'run');
    const total = 40;
    let first = true;
    let kills = 0;
    // Each attempt is killed once it has logged two steps past anything logged before (so it resumed and
    // made progress), plus a deterministic "random" delay, so failures reproduce: moments tied to
    // progress, not to wall time, which differs by 4× between machines here (24 steps in fixed delays
    // of 2.5–5.2 s left the run finished after one kill on a fast one).
    const extraMs = [0, 130, 270, 50, 400, 220];
    for (const extra of extraMs) {
      const a = first
        ? ['train', '--config', cfg, '--data', cache, '--out', run, '--steps', String(total), '--backend', 'wasm', '--classifier-steps', '5']
        : ['train', '--resume', run, '--steps', String(total)];
      const target = loggedStep(run) + 2;
      const child = spawn(process.execPath, cliArgs(a), { stdio: 'ignore', env: { ...process.env, RAGAN_BACKEND: '' } });
      let running = true;
      const exited = new Promise<number | null>((resolve) =>
        child.on('exit', (code) => {
          running = false;
          resolve(code);
        }),
      );
      while (running && loggedStep(run) < target) await sleep(10);
      if (running) {
        await sleep(extra);
        child.kill('SIGKILL');
      }
      const code = await exited;
      if (code === null) kills++;
      if (existsSync(join(run, 'config.json'))) first = false;
      // whatever the moment of the kill: the newest checkpoint validates, none is skipped as partial
      const ck = await loadLatestCheckpoint(run).catch((e: Error) => e);
      if (ck instanceof Error) throw ck;
      if (ck) {
        expect(ck.skipped).toEqual([]);
        expect(ck.state.step).toBe((await listCheckpoints(run))[0]);
        ck.model.dispose();
        ck.gOpt.dispose();
        ck.dOpt.dispose();
      }
      if (code === 0) break;
    }
    expect(kills).toBeGreaterThanOrEqual(5);
    // finish the run and check its history: every step once, in order
    const done = await ragan(['train', '--resume', run, '--steps', String(total)]);
    expect(done.code, done.stderr).toBe(0);
    // onnxruntime-node is installed (an optional dependency): by default the convolutions run in it
    expect(done.stderr).toMatch(/ragan: convolutions run in ONNX Runtime \(\d+ threads?; each layer checked against wasm/);
    expect(done.stderr).not.toMatch(/stays on wasm/);
    const rows = (await readMetrics(join(run, 'metrics.jsonl'))).filter((r) => !('event' in r));
    expect(rows.map((r) => r.step)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(readdirSync(join(run, 'checkpoints')).filter((n) => n.startsWith('.tmp'))).toEqual([]);
    expect(existsSync(join(run, 'report.html'))).toBe(true);
  }, 900_000);
});
