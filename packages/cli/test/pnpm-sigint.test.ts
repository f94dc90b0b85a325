import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareCache } from '@ragan/data';
import { listCheckpoints, loadLatestCheckpoint } from '@ragan/train';
import { sampleFaceChips } from '@ragan/test-utils/sample-faces';

// Ctrl-C through `pnpm ragan` (as the README runs everything): a terminal sends SIGINT to the whole
// foreground process group (pnpm, what pnpm runs, the CLI). `ragan train` must finish its step, write a
// checkpoint and exit 0, as the built `ragan` does.
const repo = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const tmp = mkdtempSync(join(tmpdir(), 'ragan-pnpm-sigint-'));
const cache = join(tmp, 'cache16');
const cfg = join(tmp, 'tiny16.json');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  const data = join(tmp, 'faces');
  mkdirSync(data);
  const src = await sampleFaceChips(); // real faces named like UTKFace files
  for (const f of readdirSync(src)
    .filter((n) => n.endsWith('.jpg'))
    .sort()
    .slice(0, 30))
    cpSync(join(src, f), join(data, f));
  await prepareCache({ data, format: 'utkface', size: 16, out: cache, masks: 'prior', preview: false });
  // no periodic checkpoint: the only ones are step 0 and the one Ctrl-C writes
  writeFileSync(cfg, JSON.stringify({ preset: 'tiny', model: { resolution: 16 }, batch: 2, checkpointEvery: 100000, sampleEvery: 100000 }));
}, 120_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The highest step logged in metrics.jsonl so far (0 when none). */
function loggedStep(run: string): number {
  let max = 0;
  try {
    for (const line of readFileSync(join(run, 'metrics.jsonl'), 'utf8').split('\n')) {
      try {
        const row = JSON.parse(line) as { step?: number; event?: string };
        if (row.event === undefined && typeof row.step === 'number') max = Math.max(max, row.step);
      } catch {
        // a half-written line
      }
    }
  } catch {
    // not there yet
  }
  return max;
}

describe('Ctrl-C through pnpm ragan', () => {
  it('train: SIGINT to the process group finishes the step, writes a checkpoint and exits 0', async () => {
    const run = join(tmp, 'run');
    const child = spawn('pnpm', ['ragan', 'train', '--config', cfg, '--data', cache, '--out', run, '--steps', '100000', '--classifier-steps', '2'], {
      cwd: repo,
      detached: true, // its own process group, as a terminal's foreground job
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, RAGAN_BACKEND: 'wasm' },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const exited = new Promise<void>((resolve) =>
      child.on('exit', (code, signal) => {
        exit = { code, signal };
        resolve();
      }),
    );
    try {
      // two steps logged: training is under way (and the CLI's handler installed)
      while (!exit && loggedStep(run) < 2) await sleep(20);
      expect(exit, stderr).toBeUndefined();
      process.kill(-child.pid!, 'SIGINT');
      await exited;
    } finally {
      // whatever is left of the group this test started (nothing, when all went well)
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // no such group: every process exited
      }
    }
    expect(exit, stderr).toEqual({ code: 0, signal: null });
    expect(stderr).toMatch(/SIGINT: finishing the current step, then writing a checkpoint/);
    expect(stderr).not.toMatch(/SIGINT again/);
    const stopped = /stopped at step (\d+) with a checkpoint; continue with: ragan train --resume/.exec(stderr);
    expect(stopped, stderr).not.toBeNull();
    const step = Number(stopped![1]);
    expect(step).toBeGreaterThanOrEqual(2);
    expect((await listCheckpoints(run))[0]).toBe(step);
    const ck = await loadLatestCheckpoint(run);
    expect(ck?.state.step).toBe(step);
    ck?.model.dispose();
    ck?.gOpt.dispose();
    ck?.dOpt.dispose();
  }, 600_000);
});
