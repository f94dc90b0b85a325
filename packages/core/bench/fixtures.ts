/**
 * What the core benchmark (core-bench.ts) and the paired-timing server (serve.ts) time, built one way
 * so that both measure the same thing: a generator forward at batch B (mask of ones, target group 8),
 * and one GanTrainer step with R1 every step (the worst case; lazy R1 amortises it by 1/16).
 */
import * as tf from '@tensorflow/tfjs';
import { createRagan } from '../src/ragan.js';
import { createGenerator, type Generator } from '../src/models/generator.js';
import { resolveModelConfig } from '../src/config/presets.js';
import { groupTarget } from '../src/models/targets.js';
import { GanTrainer, type StepResult } from '../src/training/gan-trainer.js';

export type Preset = 'tiny' | 'small' | 'paper';

export interface GeneratorFixture {
  g: Generator;
  x: tf.Tensor4D;
  mask: tf.Tensor4D;
  target: tf.Tensor2D;
  dispose(): void;
}

export function generatorFixture(preset: Preset, batch = 1): GeneratorFixture {
  const g = createGenerator(resolveModelConfig({ preset }), { seed: 1 });
  const res = g.config.resolution;
  const x = tf.randomUniform([batch, res, res, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
  const mask = tf.ones([batch, res, res, 1]) as tf.Tensor4D;
  const target = groupTarget(new Array<number>(batch).fill(8), 10);
  return {
    g,
    x,
    mask,
    target,
    dispose: () => {
      tf.dispose([x, mask, target]);
      g.dispose();
    },
  };
}

export interface TrainFixture {
  step(): StepResult;
  dispose(): void;
}

export function trainFixture(preset: Preset, batch: number): TrainFixture {
  const model = createRagan(preset, { seed: 1 });
  const res = model.config.resolution;
  const images = tf.randomUniform([batch, res, res, 3], -1, 1, 'float32', 2) as tf.Tensor4D;
  const masks = tf.ones([batch, res, res, 1]) as tf.Tensor4D;
  const trainer = new GanTrainer({ ...model, numGroups: 10, r1Every: 1 });
  const groups = [0, 3, 6, 9, 1, 4, 7, 2].slice(0, batch);
  return {
    step: () => trainer.trainStep({ images, masks, groups }),
    dispose: () => {
      trainer.dispose();
      tf.dispose([images, masks]);
      model.dispose();
    },
  };
}
