import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';

import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@ragan/core';
import { prepareCache, sharedDataDir } from '@ragan/data';
import { listCheckpoints, loadLatestCheckpoint, readMetrics } from '@ragan/train';
import { cliArgs, runCli } from './run-cli.js';

const ragan = (a: string[]) => runCli(a, { timeout: 600_000 });

describe('ragan train (end to end on real faces, 16 px)', () => {
  let root: string;
  let cache: string;
  let cfg: string;
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', quiet: true });
    root = mkdtempSync(join(tmpdir(), 'ragan-cli-train-'));
    cache = join(root, 'cache');
    await prepareCache({ data: join(sharedDataDir()!, 'data/utkface/crop_part1'), format: 'utkface', size: 16, limit: 60, out: cache, masks: 'prior', preview: false });
    cfg = join(root, 'config.json');
    // tiny at 16 px keeps each step well under a second; checkpoints every 3 steps
    writeFileSync(cfg, JSON.stringify({ preset: 'tiny', model: { resolution: 16 }, batch: 2, checkpointEvery: 3, sampleEvery: 5, keepCheckpoints: 2, r1: { gamma: 10, every: 4 } }));
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

  it('survives kill -9 at random moments: every resume starts from the last complete checkpoint', async () => {
    const run = join(root, 'run');
    const total = 24;
    let first = true;
    let kills = 0;
    // deterministic "random" delays so failures reproduce
    const delays = [2500, 4100, 3300, 5200, 2900, 3800];
    for (const delay of delays) {
      const a = first ? ['train', '--config', cfg, '--data', cache, '--out', run, '--steps', String(total), '--backend', 'wasm', '--classifier-steps', '5'] : ['train', '--resume', run, '--steps', String(total)];
      const child = spawn(process.execPath, cliArgs(a), { stdio: 'ignore', env: { ...process.env, RAGAN_BACKEND: '' } });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const timer = setTimeout(() => child.kill('SIGKILL'), delay);
      const code = await exited;
      clearTimeout(timer);
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
