/**
 * ONNX export of the RAGAN generator for inference (moving CBN statistics), so that ONNX Runtime
 * (`onnxruntime-node`, `onnxruntime-web`, or any other) can run it. The graph computes exactly what
 * `Generator.apply(x, m, target)` computes in inference mode, op for op, with the same layout at its
 * edges (NHWC, values in [-1, 1]); inside it is NCHW, ONNX's layout.
 *
 * - inputs: `image` [N, R, R, 3], `mask` [N, R, R, 1] (already at the image's size), `target` [N, K]
 * - output: `output` [N, R, R, 3]
 * N is symbolic; R is the model's resolution.
 */
import * as tf from '@tensorflow/tfjs';
import type { Conv2D } from '../layers/conv2d.js';
import type { Dense } from '../layers/dense.js';
import type { ModulatedConv2D } from '../layers/modulated-conv2d.js';
import type { Generator } from '../models/generator.js';
import { numGroups } from '../config/presets.js';
import { VERSION } from '../version.js';
import { encodeOnnxModel, type AttrValue, type OnnxInitializer, type OnnxNode } from '@ragan/backend';

/** The opset the graph is written for (ReduceMean still takes `axes` as an attribute in 17). */
export const ONNX_OPSET = 17;

export const ONNX_INPUTS = { image: 'image', mask: 'mask', target: 'target' } as const;
export const ONNX_OUTPUT = 'output';

/** Builds node and initializer lists with unique names. */
class Graph {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxInitializer[] = [];
  private n = 0;
  private readonly consts = new Map<string, string>();

  init(name: string, dims: readonly number[], data: Float32Array | BigInt64Array): string {
    this.initializers.push({ name, dims, data });
    return name;
  }

  /** A scalar or small constant, shared between nodes. */
  scalar(v: number): string {
    const key = `f:${v}`;
    let name = this.consts.get(key);
    if (!name) {
      name = this.init(`const_${this.consts.size}`, [], new Float32Array([v]));
      this.consts.set(key, name);
    }
    return name;
  }

  ints(values: readonly number[]): string {
    const key = `i:${values.join(',')}`;
    let name = this.consts.get(key);
    if (!name) {
      name = this.init(`const_${this.consts.size}`, [values.length], BigInt64Array.from(values.map((v) => BigInt(v))));
      this.consts.set(key, name);
    }
    return name;
  }

  op(opType: string, inputs: readonly string[], attrs?: Record<string, AttrValue>, hint = opType.toLowerCase()): string {
    const out = `${hint}_${this.n++}`;
    this.nodes.push({ opType, inputs, outputs: [out], name: out, ...(attrs ? { attrs } : {}) });
    return out;
  }
}

/** A tfjs weight's values (synchronously: export is not a hot path). */
const values = (t: tf.Tensor): Float32Array => Float32Array.from(t.dataSync() as Float32Array);

/** [kh, kw, ci, co] (tfjs) → [co, ci, kh, kw] (ONNX). */
function toOihw(kernel: tf.Tensor4D): Float32Array {
  const [kh, kw, ci, co] = kernel.shape;
  const src = values(kernel);
  const dst = new Float32Array(src.length);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      for (let c = 0; c < ci; c++) {
        const s = ((i * kw + j) * ci + c) * co;
        for (let o = 0; o < co; o++) dst[((o * ci + c) * kh + i) * kw + j] = src[s + o]!;
      }
    }
  }
  return dst;
}

interface ConvSpec {
  kernel: tf.Tensor4D;
  bias: tf.Tensor1D | null;
  strides: number;
  padding: 'same' | 'valid' | number;
}

/** ONNX pads [top, left, bottom, right] and the output size, as tfjs computes them. */
function convPads(size: number, k: number, spec: ConvSpec): { pads: number[]; out: number } {
  const info = tf.backend_util.computeConv2DInfo([1, size, size, 1], [k, k, 1, 1], spec.strides, 1, spec.padding);
  const p = info.padInfo;
  return { pads: [p.top, p.left, p.bottom, p.right], out: info.outHeight };
}

class Exporter {
  readonly g = new Graph();
  private readonly slope: number;

  private names = 0;

  constructor(private readonly gen: Generator) {
    this.slope = gen.config.leakySlope;
  }

  /** A unique initializer prefix for a layer. */
  private uid(layer: { name: string }): string {
    return `${layer.name}_${this.names++}`;
  }

  private lrelu(x: string, slope = this.slope): string {
    return this.g.op('LeakyRelu', [x], { alpha: { float: slope } });
  }

  /** Conv with tfjs's padding; returns the output and its spatial size. */
  private conv(x: string, size: number, spec: ConvSpec, name: string): { y: string; size: number } {
    const [kh, kw, ci, co] = spec.kernel.shape;
    const w = this.g.init(`${name}/kernel`, [co, ci, kh, kw], toOihw(spec.kernel));
    const inputs = [x, w];
    if (spec.bias) inputs.push(this.g.init(`${name}/bias`, [co], values(spec.bias)));
    const { pads, out } = convPads(size, kh, spec);
    const y = this.g.op('Conv', inputs, { kernel_shape: { ints: [kh, kw] }, strides: { ints: [spec.strides, spec.strides] }, pads: { ints: pads } });
    return { y, size: out };
  }

  private plainConv(x: string, size: number, layer: Conv2D): { y: string; size: number } {
    const c = layer.getConfig();
    return this.conv(x, size, { kernel: layer.kernel, bias: layer.bias, strides: c.strides, padding: c.padding }, this.uid(layer));
  }

  private dense(x: string, layer: Dense): string {
    const c = layer.getConfig();
    const name = this.uid(layer);
    const y = this.g.op('MatMul', [x, this.g.init(`${name}/kernel`, [c.inputDim, c.units], values(layer.kernel))]);
    return layer.bias ? this.g.op('Add', [y, this.g.init(`${name}/bias`, [c.units], values(layer.bias))]) : y;
  }

  /** [N, C] → [N, C, 1, 1], to scale channels of an NCHW tensor. */
  private perChannel(v: string): string {
    return this.g.op('Unsqueeze', [v, this.g.ints([2, 3])]);
  }

  /** 1 / √(v + eps), as tfjs's rsqrt(add(v, eps)). */
  private rsqrtPlus(v: string, eps: number): string {
    return this.g.op('Reciprocal', [this.g.op('Sqrt', [this.g.op('Add', [v, this.g.scalar(eps)])])]);
  }

  private pixelNorm(x: string, eps: number): string {
    const ms = this.g.op('ReduceMean', [this.g.op('Mul', [x, x])], { axes: { ints: [1] }, keepdims: 1 });
    return this.g.op('Mul', [x, this.rsqrtPlus(ms, eps)]);
  }

  /** `modulatedConv2d`: conv(x·s, W)·d + b with d = rsqrt(s² · Σₖ W² + eps). */
  private modConv(x: string, size: number, style: string, layer: ModulatedConv2D): string {
    const c = layer.getConfig();
    const name = this.uid(layer);
    const s = this.dense(style, layer.affine);
    const scaled = this.g.op('Mul', [x, this.perChannel(s)]);
    let { y } = this.conv(scaled, size, { kernel: layer.kernel, bias: null, strides: 1, padding: c.padding }, name);
    if (c.demodulate) {
      const w2 = tf.tidy(() => tf.sum(tf.square(layer.kernel), [0, 1]));
      const w2Name = this.g.init(`${name}/kernel_sq`, w2.shape, values(w2));
      w2.dispose();
      const d = this.rsqrtPlus(this.g.op('MatMul', [this.g.op('Mul', [s, s]), w2Name]), c.eps);
      y = this.g.op('Mul', [y, this.perChannel(d)]);
    }
    if (layer.bias) y = this.g.op('Add', [y, this.g.init(`${name}/bias`, [c.filters, 1, 1], values(layer.bias))]);
    return y;
  }

  build(): void {
    const gen = this.gen;
    const g = this.g;
    const res = gen.config.resolution;
    const x = g.op('Transpose', [ONNX_INPUTS.image], { perm: { ints: [0, 3, 1, 2] } });
    const m = g.op('Transpose', [ONNX_INPUTS.mask], { perm: { ints: [0, 3, 1, 2] } });
    const inv = g.op('Sub', [g.scalar(1), m]);

    // Identity encoder.
    const f0 = this.lrelu(this.plainConv(x, res, gen.encoder.stem).y);
    let h = g.op('Mul', [f0, m]);
    let size = res;
    const maskEveryBlock = gen.config.encoderMask === 'every-block';
    let blockMask = m;
    let maskSize = res;
    for (const b of gen.encoder.blocks) {
      const c = b.getConfig();
      const c1 = this.plainConv(this.lrelu(this.pixelNorm(h, c.eps), c.slope), size, b.conv1);
      const c2 = this.plainConv(this.lrelu(this.pixelNorm(c1.y, c.eps), c.slope), c1.size, b.conv2);
      let skip = h;
      if (b.skip) {
        const src = c.down ? g.op('AveragePool', [h], { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } }) : h;
        skip = this.plainConv(src, c.down ? size / 2 : size, b.skip).y;
      }
      h = g.op('Mul', [g.op('Add', [skip, c2.y]), g.scalar(Math.SQRT1_2)]);
      size = c2.size;
      if (maskEveryBlock) {
        for (; maskSize > size; maskSize /= 2) blockMask = g.op('AveragePool', [blockMask], { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } });
        h = g.op('Mul', [h, blockMask]);
      }
    }
    const fId = h;

    // Age modulator (inference: moving statistics).
    let a = fId;
    let aSize = size;
    for (const b of gen.ageModulator.blocks) {
      const conv = this.plainConv(a, aSize, b.conv);
      aSize = conv.size;
      const cbn = b.cbn;
      const eps = cbn.getConfig().eps;
      const scale = tf.tidy(() => tf.rsqrt(tf.add(cbn.movingVariance, eps)));
      const shift = tf.tidy(() => tf.neg(tf.mul(cbn.movingMean, scale)));
      const ch = cbn.getConfig().channels;
      const name = this.uid(cbn);
      const normalised = g.op('Add', [
        g.op('Mul', [conv.y, g.init(`${name}/scale`, [ch, 1, 1], values(scale))]),
        g.init(`${name}/shift`, [ch, 1, 1], values(shift)),
      ]);
      tf.dispose([scale, shift]);
      const gamma = g.op('MatMul', [ONNX_INPUTS.target, g.init(`${name}/gamma`, cbn.gamma.shape, values(cbn.gamma))]);
      const beta = g.op('MatMul', [ONNX_INPUTS.target, g.init(`${name}/beta`, cbn.beta.shape, values(cbn.beta))]);
      a = this.lrelu(g.op('Add', [g.op('Mul', [normalised, this.perChannel(gamma)]), this.perChannel(beta)]));
    }
    const pooled = g.op('Flatten', [g.op('GlobalAveragePool', [a])], { axis: 1 });
    const style = this.dense(pooled, gen.ageModulator.style);

    // Decoder.
    let d = fId;
    for (const b of gen.decoder.resBlocks) {
      const c = b.getConfig();
      const h1 = this.modConv(this.lrelu(d, c.slope), size, style, b.conv1);
      const h2 = this.modConv(this.lrelu(h1, c.slope), size, style, b.conv2);
      const skip = b.skip ? this.plainConv(d, size, b.skip).y : d;
      d = g.op('Mul', [g.op('Add', [skip, h2]), g.scalar(Math.SQRT1_2)]);
    }
    const noRoi = '';
    for (const b of gen.decoder.upBlocks) {
      const up = g.op('Resize', [d, noRoi, g.init(`${this.uid(b)}/scales`, [4], new Float32Array([1, 1, 2, 2]))], {
        mode: 'nearest',
        coordinate_transformation_mode: 'asymmetric',
        nearest_mode: 'floor',
      });
      size *= 2;
      d = this.lrelu(this.modConv(up, size, style, b.conv), b.getConfig().slope);
    }

    const fOut = g.op('Add', [g.op('Mul', [d, m]), g.op('Mul', [g.op('Mul', [f0, inv]), inv])]);
    const rgb = g.op('Tanh', [this.plainConv(fOut, res, gen.toRgb).y]);
    g.nodes.push({ opType: 'Transpose', inputs: [rgb], outputs: [ONNX_OUTPUT], name: 'output_nhwc', attrs: { perm: { ints: [0, 2, 3, 1] } } });
  }
}

export interface GeneratorOnnxOptions {
  /** ModelProto.metadata_props, e.g. the model folder's hash. */
  metadata?: Record<string, string>;
}

/**
 * The generator as ONNX protobuf bytes (opset 17), for inference with moving CBN statistics. Reads the
 * weights synchronously; no tensor outlives the call.
 */
export function generatorToOnnx(generator: Generator, options: GeneratorOnnxOptions = {}): Uint8Array {
  const gen = generator;
  const e = new Exporter(gen);
  e.build();
  const res = gen.config.resolution;
  const k = numGroups(gen.config);
  return encodeOnnxModel({
    producerName: '@ragan/core',
    producerVersion: VERSION,
    opsetVersion: ONNX_OPSET,
    graphName: 'ragan_generator',
    docString: "RAGAN generator G(x, m, y'): image and mask NHWC in [-1, 1] / [0, 1], target = age-group weights; inference mode.",
    nodes: e.g.nodes,
    initializers: e.g.initializers,
    inputs: [
      { name: ONNX_INPUTS.image, dims: ['N', res, res, 3] },
      { name: ONNX_INPUTS.mask, dims: ['N', res, res, 1] },
      { name: ONNX_INPUTS.target, dims: ['N', k] },
    ],
    outputs: [{ name: ONNX_OUTPUT, dims: ['N', res, res, 3] }],
    metadata: { resolution: String(res), ageGroups: String(gen.config.ageGroups), ...options.metadata },
  });
}
