/**
 * Test fixture (not exported from the package): a module with a nested child and weights of several
 * ranks, standing in for the real models in io tests.
 */
import { Module, heNormal, ones } from '../layers/module.js';
import { Rng } from '../random/rng.js';

class TinyBlock extends Module {
  static override className = 'TinyBlock';
  constructor(name: string, channels: number, rng: Rng) {
    super(name);
    this.addWeight('kernel', [3, 3, channels, channels], heNormal(), rng);
    this.addWeight('gamma', [channels], ones, rng, { trainable: false });
  }
  getConfig(): Record<string, unknown> {
    return {};
  }
}

export class TinyNet extends Module {
  static override className = 'TinyNet';
  readonly channels: number;
  constructor(name: string, channels = 2, seed = 1) {
    super(name);
    this.channels = channels;
    const rng = new Rng(seed);
    this.addWeight('dense', [channels, 5], heNormal(), rng, { lrMultiplier: 0.01 });
    this.addWeight('bias', [5], heNormal(), rng);
    this.addWeight('scalar', [], heNormal(), rng);
    this.addChild(new TinyBlock('block', channels, rng));
  }
  getConfig(): Record<string, unknown> {
    return { channels: this.channels };
  }
}

/** Flat values of every weight, by name. */
export function weightValues(m: Module): Record<string, number[]> {
  return Object.fromEntries(m.weights().map((w) => [w.name, Array.from(w.variable.dataSync())]));
}
