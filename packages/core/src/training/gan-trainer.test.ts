import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRagan, type RaganModel } from '../ragan.js';
import { useTrainingBackend } from '../../test/helpers.js';
import { Adam } from './adam.js';
import { shiftImages } from '../ops/resample.js';
import { GanTrainer } from './gan-trainer.js';
import { ageClassificationLoss } from '../losses/index.js';

const batch = () => ({
  images: tf.randomUniform([2, 16, 16, 3], -1, 1, 'float32', 11) as tf.Tensor4D,
  masks: tf.ones([2, 16, 16, 1]) as tf.Tensor4D,
  groups: [1, 8],
});

const snapshot = (m: { weights(): { name: string; variable: tf.Variable }[] }) => m.weights().map((w) => Array.from(w.variable.dataSync()));

describe('GanTrainer', () => {
  let model: RaganModel;
  beforeAll(async () => {
    // the training backend: the cpu backend's own filter gradient is ~1000× slower
    await useTrainingBackend();
  });
  afterEach(() => model?.dispose());

  it('ageShift: the classifier sees each generated face shifted by its own draw of at most ageShift pixels', () => {
    model = createRagan({ preset: 'tiny', resolution: 16 }, { seed: 2 });
    // a generator whose output is known: the input plus a learned offset (so x' is images + b)
    const bias = tf.variable(tf.zeros([1, 1, 1, 3]), true, 'stub_g/bias');
    const stubG = {
      apply: (x: tf.Tensor4D) => tf.add(x, bias) as tf.Tensor4D,
      encode: (x: tf.Tensor4D) => tf.mul(x, 1) as tf.Tensor4D,
      weights: () => [{ name: 'stub_g/bias', variable: bias, trainable: true, lrMultiplier: 1 }],
    };
    const seen: number[][][][][] = [];
    const classifier = {
      apply: (x: tf.Tensor4D) => {
        seen.push(x.arraySync() as number[][][][]);
        return tf.tidy(() => tf.matMul(tf.mean(x, [1, 2]) as tf.Tensor2D, tf.ones([3, 10]))) as tf.Tensor2D;
      },
      weights: () => [],
    };
    const t = new GanTrainer({
      generator: stubG,
      discriminator: model.discriminator,
      classifier,
      numGroups: 10,
      seed: 5,
      ageShift: 2,
      lossWeights: { adv: 0, rec: 0, cyc: 0, idFeature: 0 },
    });
    const b = {
      images: tf.tidy(() =>
        tf.add(tf.mul(tf.range(0, 16).reshape([1, 16, 1, 1]), 0.05), tf.mul(tf.range(0, 16).reshape([1, 1, 16, 1]), 0.003)).tile([2, 1, 1, 3]),
      ) as tf.Tensor4D,
      masks: tf.ones([2, 16, 16, 1]) as tf.Tensor4D,
      groups: [1, 8],
    };
    const shifts: string[] = [];
    for (let step = 0; step < 4; step++) {
      const xt = tf.tidy(() => tf.add(b.images, bias)) as tf.Tensor4D; // x' as the step will compute it
      seen.length = 0;
      expect(t.trainStep(b).discarded).toBe(false);
      expect(seen.length).toBe(1);
      for (let i = 0; i < 2; i++) {
        const one = xt.slice([i, 0, 0, 0], [1, 16, 16, 3]) as tf.Tensor4D;
        let found = '';
        for (let dy = -2; dy <= 2 && !found; dy++) {
          for (let dx = -2; dx <= 2 && !found; dx++) {
            const cand = shiftImages(one, [dy], [dx]);
            const d = tf.tidy(() => tf.max(tf.abs(tf.sub(cand, tf.tensor4d(seen[0]![i]!.flat(2) as unknown as number[], [1, 16, 16, 3])))).dataSync()[0]!);
            cand.dispose();
            if (d < 1e-6) found = `${dy},${dx}`;
          }
        }
        expect(found, `step ${step} image ${i}: the classifier's input is no shift of x' within 2 px`).not.toBe('');
        shifts.push(found);
        one.dispose();
      }
      xt.dispose();
    }
    expect(new Set(shifts).size).toBeGreaterThan(1);
    t.dispose();
    tf.dispose([b.images, b.masks, bias]);
  });

  it("styleLrMultiplier sets the style path's learning rate (the weights declared at 0.01); the rest of G learns as before", () => {
    const firstStep = (styleLrMultiplier?: number) => {
      model = createRagan({ preset: 'tiny', resolution: 16 }, { seed: 2 });
      const t = new GanTrainer({ ...model, numGroups: 10, seed: 5, lr: 1e-3, ...(styleLrMultiplier ? { styleLrMultiplier } : {}) });
      const before = model.generator.weights().map((w) => ({ name: w.name, style: w.lrMultiplier !== 1, v: Array.from(w.variable.dataSync()) }));
      const b = batch();
      t.trainStep(b);
      tf.dispose([b.images, b.masks]);
      // the largest change of each weight in this first Adam step (beta1 0: about lr × multiplier)
      const moved = model.generator.weights().map((w, i) => {
        const now = w.variable.dataSync();
        return { name: w.name, style: before[i]!.style, max: Math.max(...before[i]!.v.map((x, k) => Math.abs(now[k]! - x))) };
      });
      t.gOpt.dispose();
      t.dOpt.dispose();
      model.dispose();
      return moved;
    };
    const base = firstStep();
    const fast = firstStep(1);
    const style = base.filter((w) => w.style);
    expect(style.map((w) => w.name)).toEqual(expect.arrayContaining([expect.stringMatching(/style/), expect.stringMatching(/affine/)]));
    for (const w of base) {
      const f = fast.find((x) => x.name === w.name)!;
      if (w.max === 0) continue; // no gradient reached it this step
      if (w.style) {
        expect(w.max, w.name).toBeLessThan(1.01e-5);
        expect(f.max / w.max, w.name).toBeCloseTo(100, 0);
      } else {
        expect(f.max, w.name).toBe(w.max);
      }
    }
    model = createRagan({ preset: 'tiny', resolution: 16 });
    expect(() => new GanTrainer({ ...model, numGroups: 10, styleLrMultiplier: 2 })).toThrow(/styleLrMultiplier/);
  });

  it('draws target groups uniformly among the other groups', () => {
    model = createRagan({ preset: 'tiny', resolution: 16 });
    const t = new GanTrainer({ ...model, numGroups: 10, seed: 3 });
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 9000; i++) {
      const [y] = t.drawTargets([4]);
      counts[y!]++;
    }
    expect(counts[4]).toBe(0);
    for (let g = 0; g < 10; g++) if (g !== 4) expect(Math.abs(counts[g] - 1000)).toBeLessThan(150);
    t.dispose();
  });

  it('a step updates G, D and the EMA of G, leaves the classifier frozen, and reports every loss term', () => {
    model = createRagan({ preset: 'tiny', resolution: 16 }, { seed: 2 });
    const t = new GanTrainer({ ...model, numGroups: 10, r1Every: 1, emaDecay: 0.5 });
    const g0 = snapshot(model.generator);
    const d0 = snapshot(model.discriminator);
    const c0 = snapshot(model.classifier);
    const b = batch();
    const t0 = performance.now();
    const r = t.trainStep(b);
    const wall = performance.now() - t0;
    expect(r.discarded).toBe(false);
    expect(r.r1Applied).toBe(true);
    // the phase times account for the step (as the PyTorch twin reports them)
    expect(Object.keys(r.phaseMs).sort()).toEqual(['dStep', 'gAdamEma', 'gStepFwdBwd']);
    const phases = Object.values(r.phaseMs);
    expect(phases.every((v) => v >= 0)).toBe(true);
    expect(phases.reduce((a, v) => a + v, 0)).toBeLessThanOrEqual(wall + 1e-6);
    expect(r.phaseMs.dStep + r.phaseMs.gStepFwdBwd).toBeGreaterThan(0);
    // the largest absolute gradients of the step: positive and finite here
    expect(r.gradMax.d).toBeGreaterThan(0);
    expect(r.gradMax.g).toBeGreaterThan(0);
    expect(Number.isFinite(r.gradMax.d) && Number.isFinite(r.gradMax.g)).toBe(true);
    expect(Object.keys(r.losses).sort()).toEqual(['d_adv', 'd_r1', 'd_total', 'g_adv', 'g_age', 'g_cyc', 'g_id_feature', 'g_rec', 'g_total']);
    expect(snapshot(model.generator)).not.toEqual(g0);
    expect(snapshot(model.discriminator)).not.toEqual(d0);
    expect(snapshot(model.classifier)).toEqual(c0);
    // EMA with decay 0.5 sits halfway between the old and new weights of a trainable G weight
    const gw = model.generator.weights().find((w) => w.name.endsWith('to_rgb/kernel'))!;
    const ew = model.emaGenerator.weights().find((w) => w.name.endsWith('to_rgb/kernel'))!;
    const idx = model.generator.weights().findIndex((w) => w.name === gw.name);
    const expected = g0[idx]!.map((v, i) => 0.5 * v + 0.5 * gw.variable.dataSync()[i]!);
    const got = Array.from(ew.variable.dataSync());
    got.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
    tf.dispose([b.images, b.masks]);
    t.dispose();
  });

  it.each([
    ['chroma', 'g_chroma'],
    ['brightness', 'g_brightness'],
  ] as const)('%s > 0 adds its cue term to G: its value is the loss of the step, weighted into g_total', (weight, key) => {
    model = createRagan({ preset: 'tiny', resolution: 16 }, { seed: 2 });
    const plain = new GanTrainer({ ...model, numGroups: 10, seed: 4 });
    const b = batch();
    const without = plain.trainStep(b);
    plain.dispose();
    model.dispose();
    model = createRagan({ preset: 'tiny', resolution: 16 }, { seed: 2 });
    const t = new GanTrainer({ ...model, numGroups: 10, seed: 4, lossWeights: { [weight]: 5 } });
    const r = t.trainStep(b);
    expect(without.losses[key]).toBeUndefined();
    // an untrained generator's face is far from the input: the term is charged
    expect(r.losses[key]).toBeGreaterThan(0);
    // same weights, same draws: G's total differs by exactly the weighted new term
    expect(r.losses.g_total! - without.losses.g_total!).toBeCloseTo(5 * r.losses[key]!, 4);
    tf.dispose([b.images, b.masks]);
    t.dispose();
  });

  it('classifierAdapt: one plain gradient step of the classifier per step, on reals with their groups plus `fake` × fakes with their source groups', () => {
    const b = batch();
    const y = tf.oneHot(tf.tensor1d(b.groups, 'int32'), 10).toFloat() as tf.Tensor2D;
    // the expected update of the real half, computed independently on an identical classifier
    model = createRagan({ preset: 'tiny', resolution: 16 }, { seed: 2 });
    const vars = model.classifier
      .weights()
      .filter((w) => w.trainable)
      .map((w) => w.variable);
    const before = vars.map((v) => Array.from(v.dataSync()));
    const { grads } = tf.variableGrads(() => ageClassificationLoss(model.classifier.apply(b.images, { training: false }), y), vars);
    const expected = vars.map((v, i) => {
      const g = grads[v.name]!.dataSync();
      return before[i]!.map((w, j) => w - 0.05 * g[j]!);
    });
    tf.dispose(grads);
    model.dispose();

    const run = (fake: number) => {
      model = createRagan({ preset: 'tiny', resolution: 16 }, { seed: 2 });
      const t = new GanTrainer({ ...model, numGroups: 10, seed: 4, classifierAdapt: { lr: 0.05, fake } });
      const r = t.trainStep(b);
      const after = model.classifier
        .weights()
        .filter((w) => w.trainable)
        .map((w) => Array.from(w.variable.dataSync()));
      const tensors = tf.memory().numTensors;
      t.trainStep(b);
      // a second step allocates nothing that outlives it
      expect(tf.memory().numTensors).toBe(tensors);
      t.dispose();
      model.dispose();
      return { r, after };
    };
    const realOnly = run(0);
    expect(realOnly.r.losses.c_real).toBeGreaterThan(0);
    expect(realOnly.r.losses.c_fake).toBeGreaterThan(0);
    realOnly.after.forEach((w, i) => w.forEach((v, j) => expect(v).toBeCloseTo(expected[i]![j]!, 5)));
    // the fakes' half moves the classifier further, with the same reported losses before the update
    const both = run(1);
    expect(both.r.losses.c_real).toBeCloseTo(realOnly.r.losses.c_real!, 6);
    expect(both.after.some((w, i) => w.some((v, j) => Math.abs(v - expected[i]![j]!) > 1e-6))).toBe(true);
    model = createRagan({ preset: 'tiny', resolution: 16 }, { seed: 2 });
    tf.dispose([b.images, b.masks, y]);
  });

  it('emaWarmup ramps the EMA decay up: min(emaDecay, (1 + t) / (10 + t)); the first step keeps 10 % of the old EMA', () => {
    model = createRagan({ preset: 'tiny', resolution: 16 }, { seed: 2 });
    const t = new GanTrainer({ ...model, numGroups: 10, emaDecay: 0.999, emaWarmup: true });
    expect(t.emaDecayAt(0)).toBeCloseTo(0.1, 12);
    expect(t.emaDecayAt(90)).toBeCloseTo(91 / 100, 12);
    expect(t.emaDecayAt(20_000)).toBe(0.999);
    const plain = new GanTrainer({ ...model, numGroups: 10, emaDecay: 0.999, initEmaFromGenerator: false });
    expect(plain.emaDecayAt(0)).toBe(0.999);
    plain.dispose();
    // EMA starts as a copy of G: move it away so the blend is visible
    const ew = model.emaGenerator.weights().find((w) => w.name.endsWith('to_rgb/kernel'))!;
    ew.variable.assign(tf.zerosLike(ew.variable));
    const b = batch();
    t.trainStep(b);
    const gw = model.generator.weights().find((w) => w.name.endsWith('to_rgb/kernel'))!;
    const g = gw.variable.dataSync();
    Array.from(ew.variable.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(0.9 * g[i]!, 6));
    tf.dispose([b.images, b.masks]);
    t.dispose();
  });

  it('a generator with only apply/encode (no shared encoder) trains to the same losses and weights', () => {
    // 32²: at 16² the age modulator's last CBN normalises 2 values per channel, whose gradient is
    // rounding noise that sign-like first Adam steps turn into ±lr either way
    model = createRagan({ preset: 'tiny', resolution: 32 }, { seed: 4 });
    const twin = createRagan({ preset: 'tiny', resolution: 32 }, { seed: 4 });
    try {
      const g = twin.generator;
      const plain = {
        apply: g.apply.bind(g),
        encode: g.encode.bind(g),
        weights: g.weights.bind(g),
        updateMovingStats: g.updateMovingStats.bind(g),
        clearBatchStats: g.clearBatchStats.bind(g),
      };
      const a = new GanTrainer({ ...model, numGroups: 10, r1Every: 1 });
      const b = new GanTrainer({ ...twin, generator: plain, numGroups: 10, r1Every: 1 });
      const data = {
        images: tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 11) as tf.Tensor4D,
        masks: tf.ones([2, 32, 32, 1]) as tf.Tensor4D,
        groups: [1, 8],
      };
      for (let step = 0; step < 2; step++) {
        const ra = a.trainStep(data);
        const rb = b.trainStep(data);
        // the same sums in another order
        const tol = step === 0 ? 1e-5 : 1e-4;
        for (const [k, v] of Object.entries(ra.losses)) expect(Math.abs(rb.losses[k]! - v), k).toBeLessThan(tol * Math.max(1, Math.abs(v)));
      }
      const wa = snapshot(model.generator).flat();
      const wb = snapshot(twin.generator).flat();
      expect(wa.reduce((acc, v, i) => acc + Math.abs(v - wb[i]!), 0) / wa.length).toBeLessThan(1e-6);
      tf.dispose([data.images, data.masks]);
      a.dispose();
      b.dispose();
    } finally {
      twin.dispose();
    }
  });

  it('discards a step whose loss is NaN and leaves the weights unchanged', () => {
    model = createRagan({ preset: 'tiny', resolution: 16 }, { seed: 2 });
    const t = new GanTrainer({ ...model, numGroups: 10 });
    const b = batch();
    const bad = tf.tidy(() => b.images.mul(tf.scalar(NaN))) as tf.Tensor4D;
    const g0 = snapshot(model.generator);
    const d0 = snapshot(model.discriminator);
    const r = t.trainStep({ ...b, images: bad });
    expect(r.discarded).toBe(true);
    expect(r.discardReason).toBe('non-finite');
    expect(snapshot(model.generator)).toEqual(g0);
    expect(snapshot(model.discriminator)).toEqual(d0);
    tf.dispose([b.images, b.masks, bad]);
    t.dispose();
  });

  it('spikeFactor: a step whose gradients spike far above their typical value is discarded before it moves a weight', () => {
    model = createRagan({ preset: 'tiny', resolution: 16 }, { seed: 2 });
    const t = new GanTrainer({ ...model, numGroups: 10, spikeFactor: 20 });
    // a guard that has only seen tiny gradients (as after a long calm stretch): any real step is a spike
    const calm = { logMean: Math.log(1e-9), n: 100 };
    t.spikeGuard.setState({ d: calm, dR1: calm, g: calm });
    const b = batch();
    const g0 = snapshot(model.generator);
    const d0 = snapshot(model.discriminator);
    const e0 = snapshot(model.emaGenerator);
    const before = tf.memory().numTensors;
    const r = t.trainStep(b);
    expect(tf.memory().numTensors).toBe(before);
    expect(r).toMatchObject({ discarded: true, discardReason: 'spike' });
    expect(r.gradMax.d).toBeGreaterThan(1e-6);
    expect(snapshot(model.generator)).toEqual(g0);
    expect(snapshot(model.discriminator)).toEqual(d0);
    expect(snapshot(model.emaGenerator)).toEqual(e0);
    // the refused values did not become typical
    expect(t.spikeGuard.typical('d')).toBeCloseTo(1e-9, 15);
    // a guard with a typical value near the real one lets the same kind of step through
    const fresh = new GanTrainer({ ...model, numGroups: 10, spikeFactor: 20 });
    const ok = fresh.trainStep(b);
    expect(ok.discarded).toBe(false);
    expect(ok.discardReason).toBeUndefined();
    expect(snapshot(model.discriminator)).not.toEqual(d0);
    tf.dispose([b.images, b.masks]);
    t.dispose();
    fresh.dispose();
  });

  it('refuses bad labels with a clear error', () => {
    model = createRagan({ preset: 'tiny', resolution: 16 });
    const t = new GanTrainer({ ...model, numGroups: 10 });
    const b = batch();
    expect(() => t.trainStep({ ...b, groups: [1, 10] })).toThrow(/integers in \[0, 10\)/);
    expect(() => t.trainStep({ ...b, groups: [1] })).toThrow(/2 images/);
    tf.dispose([b.images, b.masks]);
    t.dispose();
  });
});

describe('Adam', () => {
  it('matches the closed form of the first steps and honours lrMultiplier; state round-trips', async () => {
    await tf.setBackend('cpu');
    const a = tf.variable(tf.tensor1d([1, 2]));
    const b = tf.variable(tf.tensor1d([3]));
    const params = [
      { name: 'a', variable: a, trainable: true, lrMultiplier: 1 },
      { name: 'b', variable: b, trainable: true, lrMultiplier: 0.01 },
    ];
    const opt = new Adam(params, { lr: 0.1, beta1: 0, beta2: 0.99 });
    const g = { [a.name]: tf.tensor1d([0.5, -2]), [b.name]: tf.tensor1d([4]) };
    opt.applyGradients(g);
    // first step with beta1 = 0: update = lr * g / (|g| + eps) = lr * sign(g)
    expect(Array.from(a.dataSync())[0]).toBeCloseTo(0.9, 5);
    expect(Array.from(a.dataSync())[1]).toBeCloseTo(2.1, 5);
    expect(b.dataSync()[0]).toBeCloseTo(3 - 0.001, 6);
    const state = opt.getState();
    const copy = new Map(state.tensors.map((t) => [t.name, t.tensor.clone()]));
    const a2 = tf.variable(a.clone());
    const b2 = tf.variable(b.clone());
    const opt2 = new Adam(
      [
        { ...params[0]!, variable: a2 },
        { ...params[1]!, variable: b2 },
      ],
      { lr: 0.1, beta1: 0, beta2: 0.99 },
    );
    opt2.setState({ iterations: state.iterations, tensors: copy });
    opt.applyGradients(g);
    opt2.applyGradients({ [a2.name]: g[a.name]!, [b2.name]: g[b.name]! });
    expect(Array.from(a2.dataSync())).toEqual(Array.from(a.dataSync()));
    expect(Array.from(b2.dataSync())).toEqual(Array.from(b.dataSync()));
    opt.dispose();
    opt2.dispose();
    tf.dispose([a, b, a2, b2, ...Object.values(g), ...copy.values()]);
  });
});
