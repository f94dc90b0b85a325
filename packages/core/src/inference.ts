import * as tf from '@tensorflow/tfjs';
import { ageToGroupWeights, FFHQ_AGING_GROUPS, getAgeGroupSet, parseGroup, type AgeGroupSet } from './config/age-groups.js';
import { ConfigError, ShapeError } from './errors/index.js';
import type { Generator } from './models/generator.js';
import { ageTarget, groupTarget } from './models/targets.js';

/** A target: an age group (index or label such as "70+") or a continuous age in years. */
export type AgeTargetSpec = { group: number | string } | { age: number };

/** The generator's target input for `n` faces: [n, K] group weights (one-hot, or a blend of two groups for an age). */
export function targetWeights(generator: Generator, target: AgeTargetSpec, n: number): tf.Tensor2D {
  const set = getAgeGroupSet(generator.config.ageGroups);
  if ('age' in target) return ageTarget(new Array<number>(n).fill(target.age), set);
  const idx = typeof target.group === 'number' ? target.group : parseGroup(target.group, set);
  if (!Number.isInteger(idx) || idx < 0 || idx >= set.groups.length) throw new ShapeError(`group ${target.group} is not in [0, ${set.groups.length})`);
  return groupTarget(new Array<number>(n).fill(idx), set.groups.length);
}

/**
 * Re-ages aligned faces: `G(x, m, y')` in inference mode.
 * - `images`: [N, H, W, 3] in [-1, 1] at the model's resolution; `masks`: [N, H, W, 1] face region
 * - `target`: `{ group }` (index or label) or `{ age }` (a continuous age blends two groups)
 * - returns: [N, H, W, 3] in [-1, 1]; the caller disposes it. Inputs are not disposed.
 */
export function reage(generator: Generator, images: tf.Tensor4D, masks: tf.Tensor4D, target: AgeTargetSpec): tf.Tensor4D {
  const res = generator.config.resolution;
  if (images.shape[1] !== res || images.shape[2] !== res) {
    throw new ShapeError(`reage: images are ${images.shape[1]}×${images.shape[2]} but the model was built for ${res}×${res}; resize or align them first`);
  }
  return tf.tidy(() => generator.apply(images, masks, targetWeights(generator, target, images.shape[0])));
}

/**
 * Every age group for each face: returns [N·K, H, W, 3] ordered face-major (face 0 in groups 0..K-1,
 * then face 1, …). The caller disposes it.
 */
export function ageStrip(generator: Generator, images: tf.Tensor4D, masks: tf.Tensor4D): tf.Tensor4D {
  const k = getAgeGroupSet(generator.config.ageGroups).groups.length;
  const outs: tf.Tensor4D[] = [];
  try {
    for (let g = 0; g < k; g++) outs.push(reage(generator, images, masks, { group: g }));
    return tf.tidy(() => {
      const n = images.shape[0];
      const [, h, w, c] = images.shape;
      // [K, N, H, W, C] → [N, K, H, W, C]
      return tf.transpose(tf.stack(outs), [1, 0, 2, 3, 4]).reshape([n * k, h, w, c]) as tf.Tensor4D;
    });
  } finally {
    tf.dispose(outs);
  }
}

/** Ages above this are refused by parseAgeTarget (a typo guard; the oldest group's centre is far below). */
export const MAX_TARGET_AGE = 130;

/**
 * Parses a target written by a person (a CLI flag, a URL parameter):
 * - a plain number is an age in years ("45", "7.5"): a continuous target (CBN blending);
 * - a group label of the set ("50-69", "70+");
 * - any range inside one group ("70-120" means "70+", "20-25" means "20-29"), or "N+" inside the open
 *   last group ("80+" means "70+"): people write ranges their own way, the model knows only its groups.
 * Throws ConfigError (naming `field`) listing the groups otherwise. Group results use the set's label.
 */
export function parseAgeTarget(value: string, set: AgeGroupSet | string = FFHQ_AGING_GROUPS, field = 'target'): AgeTargetSpec {
  const groups = typeof set === 'string' ? getAgeGroupSet(set) : set;
  const text = value.trim();
  const labels = groups.groups.map((x) => x.label).join(', ');
  const refuse = (why: string): never => {
    throw new ConfigError(field, `"${value}" ${why}; give an age in years (e.g. 45) or a group of ${groups.name}: ${labels}`);
  };
  if (/^\d+(\.\d+)?$/.test(text)) {
    const age = Number(text);
    if (age > MAX_TARGET_AGE) refuse(`is beyond ${MAX_TARGET_AGE} years`);
    return { age };
  }
  const exact = groups.groups.find((x) => x.label === text);
  if (exact) return { group: exact.label };
  const range = /^(\d+)\s*[-–]\s*(\d+)$/.exec(text);
  const open = /^(\d+)\s*\+$/.exec(text);
  if (!range && !open) return refuse('is neither an age nor an age group');
  const lo = Number((range ?? open)![1]);
  const hi = range ? Number(range[2]) : Infinity;
  if (lo > hi) return refuse('is an empty range');
  const inside = groups.groups.find((x) => x.min <= lo && hi <= x.max);
  if (!inside) return refuse('does not fall inside one age group');
  return { group: inside.label };
}

/** What a target means for a set, for summaries: the group, or the two groups an age blends. */
export type AgeTargetDescription =
  | { kind: 'group'; group: string; index: number }
  | { kind: 'age'; age: number; blend: Array<{ group: string; weight: number }> };

export function describeAgeTarget(target: AgeTargetSpec, set: AgeGroupSet | string = FFHQ_AGING_GROUPS): AgeTargetDescription {
  const groups = typeof set === 'string' ? getAgeGroupSet(set) : set;
  if ('age' in target) {
    const w = ageToGroupWeights(target.age, groups);
    return { kind: 'age', age: target.age, blend: w.flatMap((weight, i) => (weight > 0 ? [{ group: groups.groups[i]!.label, weight }] : [])) };
  }
  const index = typeof target.group === 'number' ? target.group : parseGroup(target.group, groups);
  const g = groups.groups[index];
  if (!g) throw new ShapeError(`group ${target.group} is not in [0, ${groups.groups.length})`);
  return { kind: 'group', group: g.label, index };
}

export interface ReageFacesOptions {
  /** Faces per generator call (bounds memory on big models). Default 8. */
  batchSize?: number;
  /**
   * Add the model's change (output − input, at the model's resolution, upsampled) to the full-size crop
   * instead of returning the upsampled output: keeps the photo's fine detail when the crop is much larger
   * than the model. Off by default: with it, detail the model removed (e.g. wrinkles when getting younger)
   * stays visible.
   */
  keepDetail?: boolean;
  /**
   * Blend the result into the input crop with the mask (`out·m + crop·(1 − m)`), so only the face region
   * changes. Off by default (paste-back blends with its own feathered mask).
   */
  blendWithMask?: boolean;
}

/**
 * Runs the generator somewhere else than tfjs (the exported generator in another runtime, as core exports
 * it): same contract as `Generator.apply` in inference mode. The returned tensor is the caller's.
 */
export type GeneratorForward = (x: tf.Tensor4D, mask: tf.Tensor4D, target: tf.Tensor2D) => Promise<tf.Tensor4D>;

export interface ReageFacesAsyncOptions extends ReageFacesOptions {
  /** Where the generator runs; default: `generator.apply` on the current tfjs backend. */
  forward?: GeneratorForward;
}

/**
 * Down to the model's side: an area average when the side is a whole multiple (anti-aliased, so crops
 * aligned at k× the model's resolution lose no information to aliasing), else bilinear.
 */
function toSide(x: tf.Tensor4D, side: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  if (h === side && w === side) return x.clone();
  if (h > side && h % side === 0 && w === h) {
    const f = h / side;
    return tf.avgPool(x, f, f, 'valid');
  }
  return tf.image.resizeBilinear(x, [side, side], false, true);
}

function checkFace(crop: tf.Tensor, mask: tf.Tensor, i: number): void {
  const [h, w, c] = crop.shape.slice(-3);
  const [mh, mw, mc] = mask.shape.slice(-3);
  if (c !== 3 || h !== w) throw new ShapeError(`reageFaces: face ${i}: crops must be square RGB, got [${crop.shape.join(', ')}]`);
  if (mh !== h || mw !== w || mc !== 1)
    throw new ShapeError(`reageFaces: face ${i}: the mask must be [${h}, ${w}, 1] like its crop, got [${mask.shape.join(', ')}]`);
}

/**
 * Re-ages aligned face crops of any size (each square): resizes them to the model's resolution, runs
 * the generator (in batches), and resizes the result back to each crop's size.
 * - `crops`: [N, S, S, 3] or an array of [S_i, S_i, 3], values in [-1, 1]
 * - `masks`: the face regions in [0, 1], [N, S, S, 1] or an array of [S_i, S_i, 1] matching the crops
 * - `target`: `{ group }` or `{ age }`, as `reage`
 * - returns: the same form as `crops` (a tensor, or an array of tensors), values in [-1, 1]; the caller
 *   disposes it. Inputs are not disposed.
 */
export function reageFaces(generator: Generator, crops: tf.Tensor4D, masks: tf.Tensor4D, target: AgeTargetSpec, opts?: ReageFacesOptions): tf.Tensor4D;
export function reageFaces(generator: Generator, crops: tf.Tensor3D[], masks: tf.Tensor3D[], target: AgeTargetSpec, opts?: ReageFacesOptions): tf.Tensor3D[];
export function reageFaces(
  generator: Generator,
  crops: tf.Tensor4D | tf.Tensor3D[],
  masks: tf.Tensor4D | tf.Tensor3D[],
  target: AgeTargetSpec,
  opts: ReageFacesOptions = {},
): tf.Tensor4D | tf.Tensor3D[] {
  const res = generator.config.resolution;
  const batch = opts.batchSize ?? 8;
  if (!(Number.isInteger(batch) && batch >= 1)) throw new ShapeError(`reageFaces: batchSize must be a whole number ≥ 1, got ${batch}`);
  if (!Array.isArray(crops)) {
    if (Array.isArray(masks)) throw new ShapeError('reageFaces: give crops and masks both as tensors or both as arrays');
    if (crops.rank !== 4 || masks.rank !== 4 || masks.shape[0] !== crops.shape[0]) {
      throw new ShapeError(`reageFaces: crops [N, S, S, 3] and masks [N, S, S, 1] must agree, got [${crops.shape.join(', ')}] and [${masks.shape.join(', ')}]`);
    }
    checkFace(crops, masks, 0);
    // Same-size crops: the array path on 1-face slices would cost N resizes instead of one.
    const side = crops.shape[1];
    const small = tf.tidy(() => ({ x: toSide(crops, res), m: toSide(masks, res) }));
    try {
      const out = runBatched(generator, small.x, small.m, target, batch);
      let y: tf.Tensor4D | undefined;
      try {
        y = tf.tidy(() => fromSide(out, small.x, crops, masks, side, opts));
        return y;
      } finally {
        // at the model's side with no option set, fromSide hands back `out` itself
        if (y !== out) out.dispose();
      }
    } finally {
      tf.dispose([small.x, small.m]);
    }
  }
  if (!Array.isArray(masks)) throw new ShapeError('reageFaces: give crops and masks both as tensors or both as arrays');
  const small = shrinkFaces(crops, masks, res);
  if (!small) return [];
  try {
    const out = runBatched(generator, small.x, small.m, target, batch);
    try {
      return growFaces(out, small.x, crops, masks, opts);
    } finally {
      out.dispose();
    }
  } finally {
    tf.dispose([small.x, small.m]);
  }
}

/** Checks an array of crops and masks and brings them to the model's side as one batch; null if empty. */
function shrinkFaces(crops: tf.Tensor3D[], masks: tf.Tensor3D[], res: number): { x: tf.Tensor4D; m: tf.Tensor4D } | null {
  if (masks.length !== crops.length) throw new ShapeError(`reageFaces: ${crops.length} crops need as many masks, got ${masks.length}`);
  if (crops.length === 0) return null;
  crops.forEach((c, i) => {
    if (c.rank !== 3) throw new ShapeError(`reageFaces: face ${i}: expected [S, S, 3], got [${c.shape.join(', ')}]`);
    checkFace(c, masks[i]!, i);
  });
  return tf.tidy(() => ({
    x: tf.concat(crops.map((c) => toSide(c.expandDims(0) as tf.Tensor4D, res))) as tf.Tensor4D,
    m: tf.concat(masks.map((m) => toSide(m.expandDims(0) as tf.Tensor4D, res))) as tf.Tensor4D,
  }));
}

/** The generator's batch output back at each crop's own side (new tensors; nothing is disposed). */
function growFaces(out: tf.Tensor4D, x: tf.Tensor4D, crops: tf.Tensor3D[], masks: tf.Tensor3D[], opts: ReageFacesOptions): tf.Tensor3D[] {
  const [, h, w] = out.shape;
  return crops.map((c, i) =>
    tf.tidy(() => {
      const one = (t: tf.Tensor4D) => t.slice([i, 0, 0, 0], [1, h, w, t.shape[3]]);
      const full = fromSide(one(out), one(x), c.expandDims(0) as tf.Tensor4D, masks[i]!.expandDims(0) as tf.Tensor4D, c.shape[0], opts);
      return full.squeeze([0]) as tf.Tensor3D;
    }),
  );
}

/** `reage` over slices of at most `batch` faces, concatenated. */
function runBatched(generator: Generator, x: tf.Tensor4D, m: tf.Tensor4D, target: AgeTargetSpec, batch: number): tf.Tensor4D {
  const n = x.shape[0];
  if (n <= batch) return reage(generator, x, m, target);
  const parts: tf.Tensor4D[] = [];
  try {
    for (let i = 0; i < n; i += batch) {
      const k = Math.min(batch, n - i);
      const xs = x.slice([i, 0, 0, 0], [k, -1, -1, -1]);
      const ms = m.slice([i, 0, 0, 0], [k, -1, -1, -1]);
      try {
        parts.push(reage(generator, xs, ms, target));
      } finally {
        tf.dispose([xs, ms]);
      }
    }
    return tf.concat(parts) as tf.Tensor4D;
  } finally {
    tf.dispose(parts);
  }
}

/** Call inside a tidy: the generator's output at the model's side, back at the crop's side. */
function fromSide(out: tf.Tensor4D, input: tf.Tensor4D, crop: tf.Tensor4D, mask: tf.Tensor4D, side: number, opts: ReageFacesOptions): tf.Tensor4D {
  const up = (t: tf.Tensor4D) => (t.shape[1] === side ? t : tf.image.resizeBilinear(t, [side, side], false, true));
  let y: tf.Tensor4D = opts.keepDetail ? (tf.clipByValue(tf.add(crop, up(tf.sub(out, input))), -1, 1) as tf.Tensor4D) : up(out);
  if (opts.blendWithMask) y = tf.add(tf.mul(y, mask), tf.mul(crop, tf.sub(1, mask))) as tf.Tensor4D;
  return y;
}

/**
 * `reageFaces` for an array of crops, awaiting the generator: with `opts.forward` the generator runs
 * there (in another runtime), else as `reageFaces` does. Same arguments and result otherwise.
 */
export async function reageFacesAsync(
  generator: Generator,
  crops: tf.Tensor3D[],
  masks: tf.Tensor3D[],
  target: AgeTargetSpec,
  opts: ReageFacesAsyncOptions = {},
): Promise<tf.Tensor3D[]> {
  const forward = opts.forward;
  if (!forward) return reageFaces(generator, crops, masks, target, opts);
  const batch = opts.batchSize ?? 8;
  if (!(Number.isInteger(batch) && batch >= 1)) throw new ShapeError(`reageFaces: batchSize must be a whole number ≥ 1, got ${batch}`);
  const small = shrinkFaces(crops, masks, generator.config.resolution);
  if (!small) return [];
  const parts: tf.Tensor4D[] = [];
  let out: tf.Tensor4D | undefined;
  try {
    const n = crops.length;
    for (let i = 0; i < n; i += batch) {
      const k = Math.min(batch, n - i);
      const xs = small.x.slice([i, 0, 0, 0], [k, -1, -1, -1]);
      const ms = small.m.slice([i, 0, 0, 0], [k, -1, -1, -1]);
      const w = targetWeights(generator, target, k);
      try {
        parts.push(await forward(xs, ms, w));
      } finally {
        tf.dispose([xs, ms, w]);
      }
    }
    out = parts.length === 1 ? parts[0]! : (tf.concat(parts) as tf.Tensor4D);
    return growFaces(out, small.x, crops, masks, opts);
  } finally {
    tf.dispose([small.x, small.m, ...parts]);
    if (out && !parts.includes(out)) out.dispose();
  }
}
