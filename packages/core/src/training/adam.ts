import * as tf from '@tensorflow/tfjs';
import type { NamedWeight } from '../layers/module.js';

export interface AdamArgs {
  /** Base learning rate (spec: 1e-3). */
  lr?: number;
  /** Spec: 0. */
  beta1?: number;
  /** Spec: 0.99. */
  beta2?: number;
  epsilon?: number;
  /**
   * The learning-rate multiplier of each weight (default: its own `lrMultiplier`). A trainer uses it to
   * set the style path's rate from its config (`GanTrainerArgs.styleLrMultiplier`). May be changed later
   * (`multiplierOf`); the moments do not depend on it.
   */
  multiplier?: (weight: NamedWeight) => number;
}

/**
 * Adam over named weights, honouring each weight's `lrMultiplier` (the spec's style-path dense layers
 * train at lr × 0.01). Its state (moments and step count) is exposed by name so that a checkpoint
 * can resume training exactly. Own implementation rather than tf.train.adam: that one has a single
 * learning rate and keeps its state keyed by variable ids that change across processes.
 */
export class Adam {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** Each weight's learning-rate multiplier (see AdamArgs.multiplier). */
  multiplierOf: (weight: NamedWeight) => number;
  private t = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(
    private readonly params: readonly NamedWeight[],
    args: AdamArgs = {},
  ) {
    this.lr = args.lr ?? 1e-3;
    this.beta1 = args.beta1 ?? 0;
    this.beta2 = args.beta2 ?? 0.99;
    this.epsilon = args.epsilon ?? 1e-8;
    this.multiplierOf = args.multiplier ?? ((w) => w.lrMultiplier);
    for (const p of params) {
      if (!p.trainable) continue;
      this.m.set(p.name, tf.variable(tf.zerosLike(p.variable), false));
      this.v.set(p.name, tf.variable(tf.zerosLike(p.variable), false));
    }
  }

  get iterations(): number {
    return this.t;
  }

  /**
   * Applies gradients keyed by variable name (as returned by tf.variableGrads). Gradients stay the
   * caller's to dispose. Weights without a gradient are left alone.
   */
  applyGradients(grads: Record<string, tf.Tensor>): void {
    this.t += 1;
    const b1 = this.beta1;
    const b2 = this.beta2;
    const bc1 = 1 - b1 ** this.t;
    const bc2 = 1 - b2 ** this.t;
    for (const p of this.params) {
      const g = grads[p.variable.name];
      if (!p.trainable || !g) continue;
      const m = this.m.get(p.name)!;
      const v = this.v.get(p.name)!;
      const step = (this.lr * this.multiplierOf(p)) / bc1;
      tf.tidy(() => {
        const mNew = tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1));
        const vNew = tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2));
        m.assign(mNew);
        v.assign(vNew);
        const denom = tf.add(tf.sqrt(tf.div(vNew, bc2)), this.epsilon);
        p.variable.assign(tf.sub(p.variable, tf.mul(step, tf.div(mNew, denom))));
      });
    }
  }

  /** State for checkpoints: step count and moments by weight name (tensors are the optimizer's own). */
  getState(): { iterations: number; tensors: Array<{ name: string; tensor: tf.Tensor }> } {
    const tensors: Array<{ name: string; tensor: tf.Tensor }> = [];
    for (const [k, m] of this.m) tensors.push({ name: `m/${k}`, tensor: m });
    for (const [k, v] of this.v) tensors.push({ name: `v/${k}`, tensor: v });
    return { iterations: this.t, tensors };
  }

  /** Restores state saved by getState(); values are copied, the caller keeps its tensors. */
  setState(state: { iterations: number; tensors: ReadonlyMap<string, tf.Tensor> | Record<string, tf.Tensor> }): void {
    const get = (k: string) => (state.tensors instanceof Map ? state.tensors.get(k) : (state.tensors as Record<string, tf.Tensor>)[k]);
    for (const [k, m] of this.m) {
      const mv = get(`m/${k}`);
      const vv = get(`v/${k}`);
      if (!mv || !vv) throw new Error(`optimizer state lacks moments for "${k}"`);
      m.assign(mv);
      this.v.get(k)!.assign(vv);
    }
    this.t = state.iterations;
  }

  dispose(): void {
    for (const t of this.m.values()) t.dispose();
    for (const t of this.v.values()) t.dispose();
  }
}

/** ema ← decay · ema + (1 − decay) · source, weight by weight (same names and shapes). */
export function updateEma(ema: readonly NamedWeight[], source: readonly NamedWeight[], decay: number): void {
  if (ema.length !== source.length) throw new Error(`EMA model has ${ema.length} weights, the source ${source.length}`);
  tf.tidy(() => {
    ema.forEach((e, i) => {
      const s = source[i]!;
      if (!e.trainable) {
        e.variable.assign(s.variable); // running statistics are copied, not averaged
        return;
      }
      e.variable.assign(tf.add(tf.mul(e.variable, decay), tf.mul(s.variable, 1 - decay)));
    });
  });
}

/** Copies every weight of `source` into `target` (same architecture). */
export function copyWeights(target: readonly NamedWeight[], source: readonly NamedWeight[]): void {
  if (target.length !== source.length) throw new Error(`models differ: ${target.length} vs ${source.length} weights`);
  target.forEach((t, i) => t.variable.assign(source[i]!.variable));
}
