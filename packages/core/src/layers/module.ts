import * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors/index.js';
import type { Rng } from '../random/rng.js';

/**
 * A weight owned by a module. `name` is the path inside the model, e.g. `generator/enc/stem/kernel`.
 * `lrMultiplier` scales the learning rate (the spec's style-path dense layers use 0.01).
 */
export interface NamedWeight {
  readonly name: string;
  readonly variable: tf.Variable;
  readonly trainable: boolean;
  readonly lrMultiplier: number;
}

export type Initializer = (shape: number[], rng: Rng) => tf.Tensor;

/** He (Kaiming) normal for leaky-ReLU nets: std = gain / sqrt(fanIn). Kernel layout [kh, kw, in, out] or [in, out]. */
export function heNormal(gain = Math.SQRT2): Initializer {
  return (shape, rng) => {
    const fanIn = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    return tf.randomNormal(shape, 0, gain / Math.sqrt(fanIn), 'float32', rng.nextSeed());
  };
}

export const zeros: Initializer = (shape) => tf.zeros(shape);
export const ones: Initializer = (shape) => tf.ones(shape);
export const constant =
  (value: number): Initializer =>
  (shape) =>
    tf.fill(shape, value);

/**
 * Base of every layer and model: owns named tf.Variables and child modules.
 * Anatomy follows tfjs-layers (`XxxArgs`, `static className`, `build()` creates named weights,
 * `getConfig()` round-trips) without tf.layers' symbolic graph: RAGAN needs second-order gradients
 * (R1) and per-weight learning rates, which plain variables under `tf.variableGrads` give directly.
 */
export abstract class Module {
  static className = 'Module';
  readonly name: string;
  private readonly ownWeights: NamedWeight[] = [];
  private readonly children: Module[] = [];

  constructor(name: string) {
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new ShapeError(`module name "${name}" may only contain letters, digits, _ . -`);
    this.name = name;
  }

  /** Creates a weight named `<module path>/<name>`. Call from build()/constructor only. */
  protected addWeight(name: string, shape: number[], init: Initializer, rng: Rng, opts: { trainable?: boolean; lrMultiplier?: number } = {}): tf.Variable {
    const trainable = opts.trainable ?? true;
    const value = tf.tidy(() => init(shape, rng));
    const variable = tf.variable(value, trainable, undefined, 'float32');
    value.dispose();
    this.ownWeights.push({ name, variable, trainable, lrMultiplier: opts.lrMultiplier ?? 1 });
    return variable;
  }

  /** Registers a child module; its weights are listed under `<this>/<child.name>/...`. */
  protected addChild<M extends Module>(child: M): M {
    if (this.children.some((c) => c.name === child.name)) throw new ShapeError(`duplicate child module "${child.name}" in "${this.name}"`);
    this.children.push(child);
    return child;
  }

  /** All weights of this module and its children, depth first, with full path names. */
  weights(prefix = ''): NamedWeight[] {
    const base = prefix ? `${prefix}/${this.name}` : this.name;
    const out: NamedWeight[] = this.ownWeights.map((w) => ({ ...w, name: `${base}/${w.name}` }));
    for (const c of this.children) out.push(...c.weights(base));
    return out;
  }

  trainableVariables(): tf.Variable[] {
    return this.weights()
      .filter((w) => w.trainable)
      .map((w) => w.variable);
  }

  countParams(): number {
    return this.weights().reduce((n, w) => n + w.variable.size, 0);
  }

  /** Serialisable constructor arguments. */
  abstract getConfig(): Record<string, unknown>;

  /** Frees every variable of this module and its children. */
  dispose(): void {
    for (const w of this.ownWeights) w.variable.dispose();
    for (const c of this.children) c.dispose();
  }
}
