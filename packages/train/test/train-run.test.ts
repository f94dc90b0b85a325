import { mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UTKFACE_ALIGN, ageToGroup, createAgeClassifier, initBackend, resolveModelConfig, saveModelFolder } from '@ragan/core';
import { fsStore } from '@ragan/core/node';
import { runTraining } from '../src/trainer/run.js';
import { memoryBatchSource } from '../src/trainer/memory-source.js';
import { readMetrics } from '../src/logging/metrics.js';
import { listCheckpoints, loadLatestCheckpoint } from '../src/checkpoint/checkpoint.js';
import { writeSnapshot } from '../src/checkpoint/snapshot.js';
import { cpSync, statSync } from 'node:fs';
import type { BatchSource } from '../src/trainer/batch-source.js';
import { ellipseMask, loadFaces } from '@ragan/test-utils/faces';

const LOSS_KEYS = ['d_adv', 'd_total', 'g_adv', 'g_age', 'g_rec', 'g_cyc', 'g_id_feature', 'g_total'];

describe('runTraining', () => {
  let faces: Awaited<ReturnType<typeof loadFaces>>;
  let masks: tf.Tensor4D;
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'ragan-train-'));
    dirs.push(d);
    return d;
  };
  const source = (seed = 5) =>
    memoryBatchSource(
      faces.images,
      masks,
      faces.ages.map((a) => ageToGroup(a)),
      { batch: 2, seed },
    );
  const config = { preset: 'tiny', model: { resolution: 16 }, seed: 3, r1: { gamma: 10, every: 2 }, sampleEvery: 2, checkpointEvery: 2, keepCheckpoints: 2 };

  beforeAll(async () => {
    // the cpu backend: exact resume is promised there
    await initBackend({ backend: 'cpu', quiet: true });
    faces = await loadFaces(6, 16, (age) => age >= 15 && age <= 70);
    masks = ellipseMask(6, 16);
  });
  afterAll(() => {
    tf.dispose([faces.images, masks]);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('a run of 2×N steps equals N steps + resume + N steps (losses within 1e-6), with run-folder artefacts', async () => {
    const straight = tmp();
    const s1 = source();
    await runTraining({ runDir: straight, config: { ...config, steps: 6 }, source: s1 });
    const split = tmp();
    const s2 = source();
    const first = await runTraining({ runDir: split, config: { ...config, steps: 6 }, source: s2, steps: 3 });
    expect(first).toMatchObject({ step: 3, reason: 'done' });
    const s3 = source(); // a fresh process would build a fresh source; the cursor puts it in place
    const second = await runTraining({ runDir: split, resume: true, source: s3 });
    expect(second).toMatchObject({ step: 6, reason: 'done' });
    [s1, s2, s3].forEach((s) => s.close?.());

    const a = (await readMetrics(join(straight, 'metrics.jsonl'))).filter((r) => !('event' in r));
    const b = (await readMetrics(join(split, 'metrics.jsonl'))).filter((r) => !('event' in r));
    expect(a.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
    // each row times the step's phases (the real run's profile)
    for (const r of a) for (const k of ['msD', 'msG', 'msAdam']) expect(r[k], k).toBeGreaterThanOrEqual(0);
    // and the largest absolute gradient of D and of G
    for (const r of a) for (const k of ['gradMaxD', 'gradMaxG']) expect(r[k], k).toBeGreaterThan(0);
    expect(a.every((r) => (r.msD as number) + (r.msG as number) <= (r.seconds as number) * 1000 + 1)).toBe(true);
    expect(b.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
    for (let i = 0; i < 6; i++) {
      for (const k of LOSS_KEYS) {
        const x = a[i]![k] as number;
        const y = b[i]![k] as number;
        expect(Math.abs(x - y), `${k} at step ${i + 1}: ${x} vs ${y}`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(x)));
      }
    }
    // artefacts: resolved config, sample grids, the newest `keepCheckpoints` checkpoints
    expect(existsSync(join(split, 'config.json'))).toBe(true);
    expect(readdirSync(join(split, 'samples')).sort()).toEqual(['step-2.png', 'step-3.png', 'step-4.png', 'step-6.png']);
    expect(await listCheckpoints(split)).toEqual([6, 4]);
    const ck = await loadLatestCheckpoint(split);
    expect(ck!.state.step).toBe(6);
    expect(ck!.skipped).toEqual([]);
    ck!.model.dispose();
    ck!.gOpt.dispose();
    ck!.dOpt.dispose();
  }, 600_000);

  it('writes a step again by swapping folders, and puts back a checkpoint whose swap was killed halfway', async () => {
    const run = tmp();
    const s1 = source();
    await runTraining({ runDir: run, config: { ...config, steps: 4 }, source: s1, steps: 2 });
    s1.close?.();
    const ckDir = join(run, 'checkpoints');
    expect(await listCheckpoints(run)).toEqual([2, 0]);
    // a process still running may be between its two renames: its folder is left alone
    renameSync(join(ckDir, 'step-2'), join(ckDir, `.old-step-2-${process.ppid}`));
    const live = await loadLatestCheckpoint(run);
    expect(live!.state.step).toBe(0);
    [live!.model, live!.gOpt, live!.dOpt].forEach((d) => d.dispose());
    // a kill between "step-2 → .old-step-2-PID" and ".tmp-step-2-PID → step-2" leaves only the old one
    // (4194305 is above Linux's largest pid: no such process)
    renameSync(join(ckDir, `.old-step-2-${process.ppid}`), join(ckDir, '.old-step-2-4194305'));
    const ck = await loadLatestCheckpoint(run);
    expect(ck!.state.step).toBe(2);
    expect(ck!.skipped).toEqual([]);
    [ck!.model, ck!.gOpt, ck!.dOpt].forEach((d) => d.dispose());
    expect(readdirSync(ckDir).sort()).toEqual(['step-0', 'step-2']);
    // an interrupted resume writes its step (2) again: the new folder replaces the old one whole
    const ac = new AbortController();
    ac.abort();
    const s2 = source();
    const r = await runTraining({ runDir: run, resume: true, source: s2, signal: ac.signal });
    s2.close?.();
    expect(r.step).toBe(2);
    expect(readdirSync(ckDir).sort()).toEqual(['step-0', 'step-2']);
    const again = await loadLatestCheckpoint(run);
    expect(again!.state.step).toBe(2);
    [again!.model, again!.gOpt, again!.dOpt].forEach((d) => d.dispose());
  }, 600_000);

  it('refuses to overwrite a run and names the way out', async () => {
    const dir = tmp();
    const s = source();
    await runTraining({ runDir: dir, config: { ...config, steps: 1 }, source: s });
    await expect(runTraining({ runDir: dir, config: { ...config, steps: 1 }, source: s })).rejects.toThrow(/--resume/);
    s.close?.();
  }, 300_000);

  it("records the data's framing (a UTKFace cache) as model.alignment, kept on resume and in checkpoints", async () => {
    const dir = tmp();
    const s: BatchSource = { ...source(), alignment: UTKFACE_ALIGN };
    await runTraining({ runDir: dir, config: { ...config, steps: 1, checkpointEvery: 1 }, source: s });
    const saved = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { model: { alignment: unknown }; resolvedModel: { alignment: unknown } };
    expect(saved.model.alignment).toEqual(UTKFACE_ALIGN);
    expect(saved.resolvedModel.alignment).toEqual(UTKFACE_ALIGN);
    await runTraining({ runDir: dir, resume: true, steps: 2, source: s });
    const ckpt = JSON.parse(readFileSync(join(dir, 'checkpoints', 'step-2', 'manifest.json'), 'utf8')) as { config: { alignment: unknown } };
    expect(ckpt.config.alignment).toEqual(UTKFACE_ALIGN);
    // a config that sets its own framing wins over the data's
    const own = tmp();
    const framing = { eyeToEyeScale: 1.5, eyeToMouthScale: 1.5, centreShift: 0.3 };
    await runTraining({ runDir: own, config: { ...config, model: { ...config.model, alignment: framing }, steps: 1 }, source: s });
    expect((JSON.parse(readFileSync(join(own, 'config.json'), 'utf8')) as { model: { alignment: unknown } }).model.alignment).toEqual(framing);
    s.close?.();
  }, 300_000);

  it('discards NaN steps, then restores the last checkpoint with half the learning rate', async () => {
    const dir = tmp();
    const inner = source();
    let calls = 0;
    const poisoned: BatchSource = {
      ...inner,
      resolution: inner.resolution,
      async next() {
        const b = await inner.next();
        calls += 1;
        if (calls >= 3 && calls <= 5) {
          const bad = tf.tidy(() => tf.mul(b.images, NaN)) as tf.Tensor4D;
          b.images.dispose();
          return { ...b, images: bad };
        }
        return b;
      },
    };
    // steps 3-5 are NaN: discarded, then step 2's checkpoint is restored and training goes on to 6
    const res = await runTraining({ runDir: dir, config: { ...config, steps: 6 }, source: poisoned });
    expect(res.step).toBe(6);
    const rows = await readMetrics(join(dir, 'metrics.jsonl'));
    const event = rows.find((r) => 'event' in r && r.event === 'nan-restore') as { lr: number } | undefined;
    expect(event?.lr).toBeCloseTo(5e-4, 12);
    const steps = rows.filter((r) => !('event' in r));
    expect(steps.filter((r) => r.discarded === true).length).toBe(0); // rows of discarded steps were rolled back with the restore
    expect(steps.at(-1)!.lr).toBeCloseTo(5e-4, 12);
    expect(steps.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(steps[1]!.lr).toBeCloseTo(1e-3, 12);
    inner.close?.();
  }, 600_000);

  it('evaluates every evalEvery steps (and at step 0), keeps evals.jsonl in step with a resume, and checkpoints on time', async () => {
    const dir = tmp();
    const seen: number[] = [];
    const evaluate = async (g: { config: { resolution: number } }, step: number) => {
      seen.push(step);
      return { hitRate: step / 10, resolution: g.config.resolution };
    };
    // a fake clock: 6 minutes pass per call, so with checkpointMinutes 10 every second step checkpoints on time
    let t = 0;
    const now = () => (t += 3 * 60_000);
    const cfg = { ...config, steps: 5, evalEvery: 2, checkpointEvery: 100, checkpointMinutes: 10 };
    const s1 = source();
    await runTraining({ runDir: dir, config: cfg, source: s1, steps: 3, evaluate, now });
    s1.close?.();
    expect(seen).toEqual([0, 2]);
    const rows = await readMetrics(join(dir, 'evals.jsonl'));
    expect(rows.map((r) => [r.step, r.hitRate, r.resolution])).toEqual([
      [0, 0, 16],
      [2, 0.2, 16],
    ]);
    // of the time-based checkpoints only the newest (step 3, the final one) stays, and step 0 (on the
    // checkpointEvery schedule) survives them: keepCheckpoints counts scheduled ones
    expect(await listCheckpoints(dir)).toEqual([3, 0]);
    // resuming from step 3 keeps eval rows up to 3 and adds step 4's
    const s2 = source();
    await runTraining({ runDir: dir, resume: true, source: s2, evaluate, now });
    s2.close?.();
    expect((await readMetrics(join(dir, 'evals.jsonl'))).map((r) => r.step)).toEqual([0, 2, 4]);
    // evalEvery and checkpointMinutes are not part of the resume check: changing them still resumes
    const cfgFile = join(dir, 'config.json');
    const saved = JSON.parse(readFileSync(cfgFile, 'utf8')) as Record<string, unknown>;
    expect(saved.evalEvery).toBe(2);
    writeFileSync(cfgFile, JSON.stringify({ ...saved, evalEvery: 1, checkpointMinutes: 60 }));
    const s3 = source();
    await runTraining({ runDir: dir, resume: true, steps: 6, source: s3, evaluate, now });
    s3.close?.();
    expect((await readMetrics(join(dir, 'evals.jsonl'))).map((r) => r.step)).toEqual([0, 2, 4, 6]);
  }, 600_000);

  it('a compact snapshot: float16, √v stored and squared back on load, m left out and recreated, under 40 % of a checkpoint, and it resumes', async () => {
    const run = tmp();
    const s1 = source();
    await runTraining({ runDir: run, config: { ...config, steps: 3 }, source: s1 });
    s1.close?.();
    // a run records its cache's path: a snapshot (meant for another machine) leaves it out
    const cfgFile = join(run, 'config.json');
    writeFileSync(cfgFile, JSON.stringify({ ...JSON.parse(readFileSync(cfgFile, 'utf8')), data: '/somewhere/cache128' }));
    const snapDir = join(tmp(), 'snap');
    const r = await writeSnapshot(run, snapDir, { metricsEvery: 2 });
    expect(JSON.parse(readFileSync(join(snapDir, 'config.json'), 'utf8'))).not.toHaveProperty('data');
    expect(r.step).toBe(3);
    // no sample grid by default: it shows training faces
    expect(r.files.filter((f) => !f.startsWith('checkpoints/'))).toEqual(['config.json', 'metrics.jsonl']);
    const withGrid = await writeSnapshot(run, join(tmp(), 'snap-grid'), { metricsEvery: 2, samples: true });
    expect(withGrid.files.filter((f) => !f.startsWith('checkpoints/'))).toEqual(['config.json', 'metrics.jsonl', 'samples/step-3.png']);
    expect(readMetricsSync(join(snapDir, 'metrics.jsonl')).map((x) => (x as { step: number }).step)).toEqual([2]);
    const manifest = JSON.parse(readFileSync(join(snapDir, 'checkpoints/step-3/manifest.json'), 'utf8')) as {
      dtype?: string;
      files?: Array<{ dtype?: string }>;
      extra: { snapshot: { optimizerV: string; optimizerM: string } };
    };
    expect(manifest.extra.snapshot).toMatchObject({ optimizerV: 'sqrt', optimizerM: 'omitted' });
    // Adam's first moments (all zero with beta1 = 0) are not stored at all; the loader recreates them
    const stored = (manifest as unknown as { weightFiles: Array<{ module: string; tensors: Array<{ name: string }> }> }).weightFiles
      .filter((f) => f.module.endsWith('_opt'))
      .flatMap((f) => f.tensors.map((t) => t.name));
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.filter((n) => /^[gd]_opt\/m\//.test(n))).toEqual([]);
    const bytesOf = (dir: string) => readdirSync(dir).reduce((a, f) => a + statSync(join(dir, f)).size, 0);
    const full = bytesOf(join(run, 'checkpoints/step-3'));
    const compact = bytesOf(join(snapDir, 'checkpoints/step-3'));
    expect(compact / full).toBeLessThan(0.4);
    // the loaded moments equal the run's within float16 rounding (relative 2e-3 on v), m is zero
    const a = (await loadLatestCheckpoint(run))!;
    const b = (await loadLatestCheckpoint(snapDir))!;
    let worst = 0;
    expect([...b.gOpt.toMap().keys()].sort()).toEqual([...a.gOpt.toMap().keys()].sort());
    expect([...b.dOpt.toMap().keys()].sort()).toEqual([...a.dOpt.toMap().keys()].sort());
    for (const [name, t] of a.gOpt.toMap()) {
      const u = t.dataSync();
      const w = b.gOpt.toMap().get(name)!.dataSync();
      for (let i = 0; i < u.length; i++) {
        if (name.startsWith('v/')) worst = Math.max(worst, Math.abs(u[i]! - w[i]!) / Math.max(Math.abs(u[i]!), 1e-12));
        else expect(w[i]).toBe(0);
      }
    }
    expect(worst).toBeLessThan(2e-3);
    const { snapshot: _snap, ...bState } = b.state as typeof b.state & { snapshot?: unknown };
    expect(bState).toEqual(a.state);
    for (const c of [a, b]) [c.model, c.gOpt, c.dOpt].forEach((d) => d.dispose());
    // continued in a copy (as `ragan train --resume SNAPSHOT --out NEW` does) to step 5, close to the run itself
    const cont = join(tmp(), 'cont');
    cpSync(snapDir, cont, { recursive: true });
    const s2 = source();
    const res = await runTraining({ runDir: cont, resume: true, steps: 5, source: s2 });
    s2.close?.();
    expect(res.step).toBe(5);
    const s3 = source();
    await runTraining({ runDir: run, resume: true, steps: 5, source: s3 });
    s3.close?.();
    const last = (dir: string) => readMetricsSync(join(dir, 'metrics.jsonl')).at(-1) as Record<string, number>;
    expect(last(cont).step).toBe(5);
    expect(Math.abs(last(cont).g_rec! - last(run).g_rec!) / last(run).g_rec!).toBeLessThan(0.05);
  }, 600_000);

  it('--classifier on a resume swaps the frozen classifier (a smaller one reads 2×2 means); G and D go on; config.json follows its checkpoint', async () => {
    // an 8² robust classifier (a folder's config may say its side as clsResolution)
    const classifierFolder = async (over: Record<string, unknown>) => {
      const dir = tmp();
      const c = resolveModelConfig({ preset: 'tiny', ...over });
      const cls = createAgeClassifier(c, { seed: 9 });
      await saveModelFolder(fsStore(dir), { config: c, modules: { classifier: cls } });
      const weights = cls.weights().map((w) => Array.from(w.variable.dataSync()));
      cls.dispose();
      return { dir, weights };
    };
    const { dir: clsDir, weights: clsWeights } = await classifierFolder({ resolution: 16, clsResolution: 8, clsCMax: 8, clsC0: 4, clsArch: 'robust' });

    const plain = tmp();
    const swapped = tmp();
    for (const dir of [plain, swapped]) {
      const s = source();
      await runTraining({ runDir: dir, config: { ...config, steps: 2 }, source: s });
      s.close?.();
    }
    const lines: string[] = [];
    for (const [dir, classifierDir] of [
      [plain, undefined],
      [swapped, clsDir],
    ] as const) {
      const s = source();
      await runTraining({ runDir: dir, resume: true, steps: 3, source: s, ...(classifierDir ? { classifierDir } : {}), log: (l) => lines.push(l) });
      s.close?.();
    }
    expect(lines.join('\n')).toMatch(
      /step 2: the frozen age classifier is now .* \(clsArch robust, clsC0 4, clsResolution 8, clsCMax 8; was clsArch plain, clsC0 8, clsResolution 16/,
    );
    // G and D continued from step 2: D's loss and G's reconstruction at step 3 are those of the run without the swap; the age loss is not
    type Row = { d_adv: number; g_rec: number; g_age: number };
    const row = (dir: string) =>
      readMetricsSync(join(dir, 'metrics.jsonl')).find((r) => (r as { step?: number }).step === 3 && !('event' in (r as object))) as Row;
    expect(row(swapped).d_adv).toBeCloseTo(row(plain).d_adv, 6);
    expect(row(swapped).g_rec).toBeCloseTo(row(plain).g_rec, 6);
    expect(Math.abs(row(swapped).g_age - row(plain).g_age)).toBeGreaterThan(1e-4);
    expect(readMetricsSync(join(swapped, 'metrics.jsonl')).find((r) => (r as { event?: string }).event === 'resume')).toMatchObject({
      step: 2,
      classifier: clsDir,
    });
    // a snapshot keeps the classifier folder's name, not this machine's path to it
    const snap = join(tmp(), 'snap');
    await writeSnapshot(swapped, snap);
    expect(readMetricsSync(join(snap, 'metrics.jsonl')).find((r) => (r as { event?: string }).event === 'resume')).toMatchObject({
      step: 2,
      classifier: basename(clsDir),
    });
    // the checkpoint holds the given classifier, and config.json describes it
    const ck = await loadLatestCheckpoint(swapped);
    expect(ck!.step).toBe(3);
    expect(ck!.model.classifier.weights().map((w) => Array.from(w.variable.dataSync()))).toEqual(clsWeights);
    expect(ck!.model.config).toMatchObject({ resolution: 16, clsResolution: 8, clsC0: 4, clsArch: 'robust', clsCMax: 8 });
    ck!.model.dispose();
    ck!.gOpt.dispose();
    ck!.dOpt.dispose();
    const cfgFile = join(swapped, 'config.json');
    const saved = JSON.parse(readFileSync(cfgFile, 'utf8')) as { model: Record<string, unknown>; resolvedModel: Record<string, unknown> };
    expect(saved.model).toMatchObject({ resolution: 16, clsResolution: 8, clsC0: 4, clsArch: 'robust', clsCMax: 8 });
    // it resumes as it is now, without --classifier
    const s4 = source();
    await runTraining({ runDir: swapped, resume: true, steps: 4, source: s4 });
    s4.close?.();
    // a config.json that describes another classifier than the checkpoint's is refused, naming the way out
    writeFileSync(cfgFile, JSON.stringify({ ...saved, model: { resolution: 16 } }));
    const s5 = source();
    await expect(runTraining({ runDir: swapped, resume: true, steps: 5, source: s5 })).rejects.toThrow(
      new RegExp(
        String.raw`holds another age classifier \(clsArch robust, clsC0 4, clsResolution 8, clsCMax 8\) than .*config.json describes ` +
          String.raw`\(clsArch plain, clsC0 8, clsResolution 16, clsCMax 64\): give --classifier DIR`,
      ),
    );
    s5.close?.();
    // a new run takes the classifier's side and width from its folder
    const fresh = tmp();
    const s6 = source();
    await runTraining({ runDir: fresh, config: { ...config, steps: 1 }, source: s6, classifierDir: clsDir });
    expect((JSON.parse(readFileSync(join(fresh, 'config.json'), 'utf8')) as { resolvedModel: unknown }).resolvedModel).toMatchObject({
      clsResolution: 8,
      clsC0: 4,
    });
    // a classifier of bigger faces than the run's, or of other age groups, is refused before anything is written
    const big = await classifierFolder({ resolution: 32 });
    const lats = await classifierFolder({ resolution: 16, ageGroups: 'lats-6' });
    const refused = join(tmp(), 'run');
    await expect(runTraining({ runDir: refused, config: { ...config, steps: 1 }, source: s6, classifierDir: big.dir })).rejects.toThrow(
      /holds a classifier of 32² faces; this run's model makes 16² faces/,
    );
    await expect(runTraining({ runDir: refused, config: { ...config, steps: 1 }, source: s6, classifierDir: lats.dir })).rejects.toThrow(
      /classifier for the age groups "lats-6"; this run's model uses "ffhq-aging-10"/,
    );
    await expect(runTraining({ runDir: swapped, resume: true, steps: 5, source: s6, classifierDir: big.dir })).rejects.toThrow(/32² faces/);
    expect(existsSync(refused)).toBe(false);
    s6.close?.();
  }, 600_000);

  it('loss weights, ageShift, spikeFactor, classifierAdapt, balanceGroups and the style lr multiplier may change on resume (logged); not the lr', async () => {
    const dir = tmp();
    const s1 = source();
    await runTraining({ runDir: dir, config: { ...config, steps: 2 }, source: s1 });
    s1.close?.();
    const cfgFile = join(dir, 'config.json');
    const saved = JSON.parse(readFileSync(cfgFile, 'utf8')) as { losses: Record<string, number>; optimizer: Record<string, number> };
    // the spike guard's statistics travel in the checkpoint: two accepted steps per stream so far
    const ck = await loadLatestCheckpoint(dir);
    expect(ck!.state.spikeGuard).toMatchObject({ d: { n: 1 }, dR1: { n: 1 }, g: { n: 2 } });
    const frozen = ck!.model.classifier.weights().map((w) => Array.from(w.variable.dataSync()));
    ck!.model.dispose();
    ck!.gOpt.dispose();
    ck!.dOpt.dispose();
    writeFileSync(
      cfgFile,
      JSON.stringify({
        ...saved,
        losses: { ...saved.losses, age: 3 },
        ageShift: 2,
        spikeFactor: 50,
        classifierAdapt: { lr: 0.01, fake: 1 },
        balanceGroups: true,
        optimizer: { ...saved.optimizer, styleLrMultiplier: 0.1 },
      }),
    );
    const s2 = source();
    await runTraining({ runDir: dir, resume: true, steps: 3, source: s2 });
    s2.close?.();
    // the adapted classifier is what the next checkpoint holds, and its two losses are logged
    const ck3 = await loadLatestCheckpoint(dir);
    expect(ck3!.step).toBe(3);
    const adapted = ck3!.model.classifier.weights().map((w) => Array.from(w.variable.dataSync()));
    ck3!.model.dispose();
    ck3!.gOpt.dispose();
    ck3!.dOpt.dispose();
    expect(adapted).not.toEqual(frozen);
    const row = (await readMetrics(join(dir, 'metrics.jsonl'))).find((r) => (r as { step?: number }).step === 3 && !('event' in r)) as Record<string, number>;
    expect(row.c_real).toBeGreaterThan(0);
    expect(row.c_fake).toBeGreaterThan(0);
    const event = (await readMetrics(join(dir, 'metrics.jsonl'))).find((r) => 'event' in r && r.event === 'resume') as unknown as {
      losses: Record<string, number>;
      ageShift: number;
      step: number;
    };
    expect(event).toMatchObject({
      step: 2,
      ageShift: 2,
      spikeFactor: 50,
      classifierAdapt: { lr: 0.01, fake: 1 },
      balanceGroups: true,
      styleLrMultiplier: 0.1,
      losses: { age: 3, rec: 10 },
    });
    writeFileSync(cfgFile, JSON.stringify({ ...saved, optimizer: { ...saved.optimizer, lr: 0.01 } }));
    const s3 = source();
    await expect(runTraining({ runDir: dir, resume: true, steps: 4, source: s3 })).rejects.toThrow(/another config/);
    s3.close?.();
  }, 600_000);
});

function readMetricsSync(file: string): unknown[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as unknown);
}
