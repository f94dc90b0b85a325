import type * as tf from '@tensorflow/tfjs';
import { ShapeError } from '../errors/index.js';

/**
 * Shape guards shared by ops, layers and models (internal). They throw a ShapeError naming the argument
 * before tfjs would fail deep inside a kernel with a message that names none.
 */

export function describeShape(t: tf.Tensor): string {
  return `[${t.shape.join(', ')}]`;
}

/** Checks rank and, where `expected[i]` is a number, that dimension. `null` = any size. */
export function assertShape(t: tf.Tensor, expected: ReadonlyArray<number | null>, what: string): void {
  const ok = t.rank === expected.length && expected.every((d, i) => d === null || t.shape[i] === d);
  if (!ok) {
    const want = `[${expected.map((d) => (d === null ? '*' : String(d))).join(', ')}]`;
    throw new ShapeError(`${what} must have shape ${want}, got ${describeShape(t)}`);
  }
}

export function assertRank(t: tf.Tensor, rank: number, what: string): void {
  if (t.rank !== rank) throw new ShapeError(`${what} must be a rank-${rank} tensor, got shape ${describeShape(t)}`);
}
