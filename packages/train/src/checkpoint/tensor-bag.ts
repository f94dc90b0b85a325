import * as tf from '@tensorflow/tfjs';
import { Module, Rng } from '@ragan/core';

/**
 * Named tensors stored as a module of a model folder, so optimizer moments ride in the same
 * checksummed checkpoint as the networks. Weights are non-trainable; names are `<bag>/<entry>`.
 */
export class TensorBag extends Module {
  static override className = 'TensorBag';

  constructor(name: string, entries: ReadonlyArray<{ name: string; shape: readonly number[] }>) {
    super(name);
    const rng = new Rng(0);
    for (const e of entries) this.addWeight(e.name, [...e.shape], (shape) => tf.zeros(shape), rng, { trainable: false });
  }

  /** A bag holding copies of `tensors` (the caller keeps its tensors). */
  static of(name: string, tensors: ReadonlyArray<{ name: string; tensor: tf.Tensor }>): TensorBag {
    const bag = new TensorBag(
      name,
      tensors.map((t) => ({ name: t.name, shape: t.tensor.shape })),
    );
    bag.weights().forEach((w, i) => w.variable.assign(tensors[i]!.tensor));
    return bag;
  }

  /** Entries by their own name (without the bag prefix). Tensors stay the bag's. */
  toMap(): Map<string, tf.Tensor> {
    const prefix = `${this.name}/`;
    return new Map(this.weights().map((w) => [w.name.slice(prefix.length), w.variable]));
  }

  getConfig(): Record<string, unknown> {
    return { name: this.name };
  }
}
