import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  autoDetect,
  autoKeepsBlazeFace,
  autoNeedsMesh,
  blazeFacePasses,
  cropBox,
  DARK_CROP_P99,
  decodeBlazeFace,
  landmarkCrop,
  eyeDisagreement,
  FACEMESH_INPUT,
  faceMeshScore,
  mergeDetections,
  type BlazeFaceModel,
} from './blazeface.js';

/** A stand-in for the graph model: fixed raw outputs (scores as logits, 16 box/keypoint offsets per anchor). */
function fakeModel(faces: Array<{ anchor: number; logit: number; offsets: number[] }>): BlazeFaceModel & { seen: number[][] } {
  const seen: number[][] = [];
  return {
    seen,
    execute(x: tf.Tensor) {
      seen.push(x.shape as number[]);
      const scores = new Float32Array(896).fill(-10);
      const boxes = new Float32Array(896 * 16);
      for (const f of faces) {
        scores[f.anchor] = f.logit;
        boxes.set(f.offsets, f.anchor * 16);
      }
      return [
        tf.tensor3d(scores.subarray(0, 512), [1, 512, 1]),
        tf.tensor3d(scores.subarray(512), [1, 384, 1]),
        tf.tensor3d(boxes.subarray(0, 512 * 16), [1, 512, 16]),
        tf.tensor3d(boxes.subarray(512 * 16), [1, 384, 16]),
      ];
    },
  };
}

describe('BlazeFace decoding (browser-safe)', () => {
  it('decodes anchors to photo pixels (box and six keypoints), drops faces centred in the square padding, leaks no tensor', async () => {
    // anchor 106: 16-px grid, cell (5, 3), first of 2 → centre (88, 56) of the 256² input
    const kp = [0, 0, 10, 0, 5, 5, 5, 10, -15, 0, 25, 0];
    // anchor 806: 32-px grid, cell (1, 6), first of 6 → centre (48, 208): below the photo once scaled back
    const model = fakeModel([
      { anchor: 106, logit: 5, offsets: [2, -4, 40, 50, ...kp] },
      { anchor: 806, logit: 3, offsets: [0, 0, 30, 30, ...kp] },
    ]);
    const photo = tf.zeros([64, 128, 3], 'int32') as tf.Tensor3D;
    const before = tf.memory().numTensors;
    const found = await decodeBlazeFace(model, photo);
    expect(tf.memory().numTensors).toBe(before);
    expect(model.seen).toEqual([[1, 256, 256, 3]]);
    expect(found).toHaveLength(1);
    const [f] = found;
    // the 128-px side maps to 256: half scale
    expect(f!.score).toBeCloseTo(1 / (1 + Math.exp(-5)), 6);
    expect(f!.box.x).toBeCloseTo(35, 4);
    expect(f!.box.y).toBeCloseTo(13.5, 4);
    expect(f!.box.width).toBeCloseTo(20, 4);
    expect(f!.box.height).toBeCloseTo(25, 4);
    expect(f!.keypoints[0]).toEqual([44, 28]);
    expect(f!.keypoints[1]).toEqual([49, 28]);
    // under minConfidence: nothing
    expect(await decodeBlazeFace(model, photo, { minConfidence: 0.999 })).toEqual([]);
    photo.dispose();
  });

  it('passes: the photo, a grey-padded copy and, from 512 px on a side, 2×2 overlapping tiles; a tile face comes back in photo pixels', async () => {
    const face = { anchor: 106, logit: 5, offsets: [2, -4, 40, 50, ...new Array(12).fill(0)] };
    // a stand-in that sees a face in the 4th pass only: the tile at (0.4 W, 0) of a 600² photo
    const calls: number[][] = [];
    const inner = fakeModel([face]);
    const empty = fakeModel([]);
    const model: BlazeFaceModel = {
      execute: (x, names) => {
        calls.push(x.shape as number[]);
        return (calls.length === 4 ? inner : empty).execute(x, names);
      },
    };
    const photo = tf.zeros([600, 600, 3], 'int32') as tf.Tensor3D;
    const before = tf.memory().numTensors;
    const found = await blazeFacePasses(model, photo);
    expect(tf.memory().numTensors).toBe(before);
    expect(calls).toHaveLength(6);
    expect(found).toHaveLength(1);
    // the 360² tile at x 240 maps to 256 at 360/256 = 1.40625 px per input pixel
    expect(found[0]!.pass).toBe('tile');
    expect(found[0]!.box.x).toBeCloseTo(240 + 1.40625 * (90 - 20), 3);
    expect(found[0]!.box.y).toBeCloseTo(1.40625 * (52 - 25), 3);
    expect(found[0]!.box.width).toBeCloseTo(1.40625 * 40, 3);
    // under 512 px, or with tiles off: two passes
    calls.length = 0;
    const small = tf.zeros([400, 500, 3], 'int32') as tf.Tensor3D;
    await blazeFacePasses(model, small);
    expect(calls).toHaveLength(2);
    calls.length = 0;
    await blazeFacePasses(model, photo, { tiles: false, pad: 0 });
    expect(calls).toHaveLength(1);
    tf.dispose([photo, small]);
  });

  it('cropBox: the image under a box, black where the box reaches outside, with its corner to map points back', () => {
    const img = tf.tensor3d(
      Array.from({ length: 4 * 4 * 3 }, (_, i) => i + 1),
      [4, 4, 3],
      'int32',
    );
    const { crop, x0, y0 } = cropBox(img, { x: -1.2, y: 2.4, width: 3, height: 3 });
    expect([x0, y0]).toEqual([-1, 2]);
    expect(crop.shape).toEqual([3, 3, 3]);
    const px = crop.arraySync() as number[][][];
    // column 0 is left of the image; row 2 is below it: black
    expect(px[0]![0]).toEqual([0, 0, 0]);
    expect(px[2]![1]).toEqual([0, 0, 0]);
    // crop (row 0, col 1) is image (row 2, col 0)
    expect(px[0]![1]).toEqual((img.arraySync() as number[][][])[2]![0]);
    tf.dispose([img, crop]);
  });

  it('landmarkCrop: a dark crop is brightened so that its 99th percentile is 255 (at most 4×); any other is cropBox exactly', () => {
    // a 20×20 photo: the left half dark (values 0..49 in the brightest channel), the right half bright
    const values = new Int32Array(20 * 20 * 3);
    for (let y = 0; y < 20; y++)
      for (let x = 0; x < 20; x++) for (let c = 0; c < 3; c++) values[(y * 20 + x) * 3 + c] = x < 10 ? ((y * 10 + x) % 50) - c : 200 + c;
    const photo = tf.tensor3d(values, [20, 20, 3], 'int32');
    const before = tf.memory().numTensors;
    const dark = landmarkCrop(photo, { x: 0, y: 0, width: 10, height: 20 });
    const plain = cropBox(photo, { x: 0, y: 0, width: 10, height: 20 });
    // the 99th percentile of 200 brightest-channel values 0..49 (each four times) is 49: gain 255/49 ≈ 5.2, capped at 4
    expect(dark.gain).toBe(4);
    expect(dark.crop.dtype).toBe('int32');
    const d = dark.crop.arraySync() as number[][][];
    const p = plain.crop.arraySync() as number[][][];
    expect(d[3]![7]).toEqual(p[3]![7]!.map((v) => Math.min(255, Math.round(v * 4))));
    // a crop whose 99th percentile is over DARK_CROP_P99 is left exactly as it is
    const bright = landmarkCrop(photo, { x: 10, y: 0, width: 10, height: 20 });
    expect(bright.gain).toBe(1);
    const brightPlain = cropBox(photo, { x: 10, y: 0, width: 10, height: 20 }).crop;
    expect(Array.from(bright.crop.dataSync())).toEqual(Array.from(brightPlain.dataSync()));
    // at the threshold: a crop at a 99th percentile of 100 is brightened 2.55×
    const mid = tf.fill([8, 8, 3], 100, 'int32') as tf.Tensor3D;
    const m = landmarkCrop(mid, { x: 0, y: 0, width: 8, height: 8 });
    expect(DARK_CROP_P99).toBeGreaterThan(100);
    expect(m.gain).toBeCloseTo(2.55, 5);
    expect(m.crop.dataSync()[0]).toBe(255);
    tf.dispose([dark.crop, plain.crop, bright.crop, brightPlain, mid, m.crop]);
    expect(tf.memory().numTensors).toBe(before);
    photo.dispose();
  });

  it('refuses a model with the wrong outputs and an image that is not [H, W, 3], naming what it got', async () => {
    const photo = tf.zeros([8, 8, 3]) as tf.Tensor3D;
    const one: BlazeFaceModel = { execute: () => tf.zeros([1, 896]) };
    await expect(decodeBlazeFace(one, photo)).rejects.toThrow(/1 outputs, expected 4/);
    const grey = tf.zeros([8, 8, 1]) as tf.Tensor3D;
    await expect(decodeBlazeFace(fakeModel([]), grey)).rejects.toThrow(/\[8, 8, 1\]/);
    tf.dispose([photo, grey]);
  });

  it('auto = SSD plus the faces only BlazeFace found, at its own threshold', () => {
    const face = (x: number, score: number) => ({ box: { x, y: 0, width: 100, height: 100 }, score });
    const merged = mergeDetections([face(0, 0.9), face(300, 0.6)], [face(10, 0.95), face(600, 0.8), face(900, 0.7)], 0.75);
    // the BlazeFace box over SSD's first face is not added; the one at 900 is under 0.75
    expect(merged.map((f) => f.box.x)).toEqual([0, 600, 300]);
  });

  it("auto's rule: a BlazeFace-only face at 0.75 and up, or under it with eyes the landmarks agree on (≤ 0.2 eye distances) but not tile-only", () => {
    const face = (x: number, score: number, eyeDisagreement: number) => ({ box: { x, y: 0, width: 100, height: 100 }, score, eyeDisagreement });
    const merged = mergeDetections([], [face(0, 0.6, 0.1), face(300, 0.6, 0.5), face(600, 0.9, 3)], (b) => autoKeepsBlazeFace(b));
    expect(merged.map((f) => f.box.x)).toEqual([600, 0]);
    // a caller asking for more confidence raises the plain threshold, not the eye rule
    expect(autoKeepsBlazeFace({ score: 0.85, eyeDisagreement: 1 }, 0.9)).toBe(false);
    expect(autoKeepsBlazeFace({ score: 0.92, eyeDisagreement: 1 }, 0.9)).toBe(true);
    expect(autoKeepsBlazeFace({ score: 0.6, eyeDisagreement: 0.2 })).toBe(true);
    // a face only a tile of a large photo found needs the score: agreeing eyes are not enough there
    expect(autoKeepsBlazeFace({ score: 0.6, eyeDisagreement: 0.1, pass: 'tile' })).toBe(false);
    expect(autoKeepsBlazeFace({ score: 0.8, eyeDisagreement: 3, pass: 'tile' })).toBe(true);
    expect(autoKeepsBlazeFace({ score: 0.6, eyeDisagreement: 0.1, pass: 'padded' })).toBe(true);
  });

  it("auto's rule, third way: a BlazeFace-only face the face mesh calls a face (≥ 0.5), tile-only or not", () => {
    expect(autoKeepsBlazeFace({ score: 0.6, eyeDisagreement: 0.7, meshScore: 0.95 })).toBe(true);
    expect(autoKeepsBlazeFace({ score: 0.6, eyeDisagreement: 0.7, pass: 'tile', meshScore: 0.5 })).toBe(true);
    expect(autoKeepsBlazeFace({ score: 0.6, eyeDisagreement: 0.7, meshScore: 0.41 })).toBe(false);
    expect(autoKeepsBlazeFace({ score: 0.6, eyeDisagreement: 0.7 })).toBe(false);
    // the mesh is asked only where its answer decides: not above the score, not with agreeing eyes, not under minConfidence
    expect(autoNeedsMesh({ score: 0.6, eyeDisagreement: 0.7 })).toBe(true);
    expect(autoNeedsMesh({ score: 0.8, eyeDisagreement: 0.7 })).toBe(false);
    expect(autoNeedsMesh({ score: 0.6, eyeDisagreement: 0.1 })).toBe(false);
    expect(autoNeedsMesh({ score: 0.6, eyeDisagreement: 0.1, pass: 'tile' })).toBe(true);
    expect(autoNeedsMesh({ score: 0.6, eyeDisagreement: 0.7 }, 0.7)).toBe(false);
  });

  it('faceMeshScore: the mesh sees 1.4× the box around its centre, eyes level, in [0, 1]; leaks no tensor', async () => {
    // a 200×300 photo: black, with a white square where the face box is (x 60-120, y 100-160) and a
    // brighter right half of that square, so the crop shows which way it was turned
    const W = 200;
    const H = 300;
    const data = new Int32Array(W * H * 3);
    for (let y = 100; y < 160; y++) for (let x = 60; x < 120; x++) data.fill(x < 90 ? 100 : 250, (y * W + x) * 3, (y * W + x) * 3 + 3);
    const photo = tf.tensor3d(data, [H, W, 3], 'int32');
    const box = { x: 60, y: 100, width: 60, height: 60 };
    let seen: Float32Array | undefined;
    const model = {
      execute: (x: tf.Tensor) => {
        expect(x.shape).toEqual([1, FACEMESH_INPUT, FACEMESH_INPUT, 3]);
        seen = x.dataSync() as Float32Array;
        return [tf.zeros([1, 1404]), tf.fill([1, 1], 0.75), tf.zeros([1, 266])];
      },
    };
    const at = (u: number, v: number) => seen![(v * FACEMESH_INPUT + u) * 3]!;
    const before = tf.memory().numTensors;
    // level eyes: the box fills the middle 1/1.4 of the crop; left of centre dim, right bright, outside black
    const level = await faceMeshScore(model, photo, {
      box,
      keypoints: [
        [75, 120],
        [105, 120],
        [90, 130],
        [90, 145],
        [60, 120],
        [120, 120],
      ],
    });
    expect(level).toBeCloseTo(0.75, 6);
    const m = FACEMESH_INPUT / 2;
    const q = Math.round(FACEMESH_INPUT / 1.4 / 4); // a quarter of the box, in crop pixels
    expect(at(m - q, m)).toBeCloseTo(100 / 255, 2);
    expect(at(m + q, m)).toBeCloseTo(250 / 255, 2);
    expect(at(m, m - 2 * q + 1)).toBeGreaterThan(0.3); // just inside the box's top edge
    expect(at(5, 5)).toBe(0); // outside the box: the photo is black there
    expect(at(m, m - 2 * q - 6)).toBe(0);
    // the right eye above the left (a face turned 90° clockwise: its forehead points to the photo's right,
    // where the bright half is): levelled, the bright half is at the top of the crop
    await faceMeshScore(model, photo, {
      box,
      keypoints: [
        [90, 105],
        [90, 135],
        [80, 120],
        [70, 120],
        [90, 90],
        [90, 150],
      ],
    });
    expect(at(m, m - q)).toBeCloseTo(250 / 255, 2);
    expect(at(m, m + q)).toBeCloseTo(100 / 255, 2);
    expect(tf.memory().numTensors).toBe(before + 0);
    photo.dispose();
    await expect(
      faceMeshScore({ execute: () => tf.zeros([1, 5]) }, tf.zeros([10, 10, 3]), {
        box,
        keypoints: [
          [1, 1],
          [2, 2],
        ],
      }),
    ).rejects.toThrow(/face-flag/);
  });

  it('autoDetect: landmarks only for faces SSD missed, the face mesh loaded and asked only where it decides', async () => {
    // one BlazeFace face at score 0.6 (under 0.75), eyes at (44, 28) and (49, 28) in a 64×128 photo
    const kp = [0, 0, 10, 0, 5, 5, 5, 10, -15, 0, 25, 0];
    const model = fakeModel([{ anchor: 106, logit: Math.log(0.6 / 0.4), offsets: [2, -4, 40, 50, ...kp] }]);
    const photo = tf.zeros([64, 128, 3], 'int32') as tf.Tensor3D;
    const farEyes = Array.from({ length: 68 }, (): [number, number] => [0, 60]); // the landmark net disagrees
    const run = async (ssd: Array<{ box: { x: number; y: number; width: number; height: number }; score: number }>, flag: number) => {
      const calls = { landmarks: 0, meshLoads: 0, mesh: 0 };
      const faces = await autoDetect(
        photo,
        {
          ssd: async () => ssd,
          blazeFace: model,
          faceMesh: async () => {
            calls.meshLoads += 1;
            return {
              execute: () => {
                calls.mesh += 1;
                return [tf.zeros([1, 1404]), tf.fill([1, 1], flag)];
              },
            };
          },
          landmarksInBox: async () => {
            calls.landmarks += 1;
            return farEyes;
          },
        },
        { pad: 0 },
      );
      return { faces, calls };
    };
    const before = tf.memory().numTensors;
    const yes = await run([], 0.9);
    expect(yes.faces).toHaveLength(1);
    expect(yes.faces[0]).toMatchObject({ pass: 'photo', meshScore: expect.closeTo(0.9, 6) });
    expect(yes.calls).toEqual({ landmarks: 1, meshLoads: 1, mesh: 1 });
    const no = await run([], 0.3);
    expect(no.faces).toEqual([]);
    // SSD found it: BlazeFace's face is dropped before any landmark or mesh work
    const ssdFace = { box: { x: 34, y: 14, width: 21, height: 25 }, score: 0.9 };
    const both = await run([ssdFace], 0.9);
    expect(both.faces).toEqual([ssdFace]);
    expect(both.calls).toEqual({ landmarks: 0, meshLoads: 0, mesh: 0 });
    expect(tf.memory().numTensors).toBe(before);
    photo.dispose();
  });

  it('eyeDisagreement: 0 where both put the eyes alike (either order), in eye distances otherwise', () => {
    // the landmark net's eye rings (36-41, 42-47) centred on (40, 50) and (60, 50)
    const lm = Array.from({ length: 68 }, (_, i): [number, number] => (i >= 36 && i < 42 ? [40, 50] : i >= 42 && i < 48 ? [60, 50] : [0, 0]));
    expect(
      eyeDisagreement(
        [
          [40, 50],
          [60, 50],
        ],
        lm,
      ),
    ).toBe(0);
    expect(
      eyeDisagreement(
        [
          [60, 50],
          [40, 50],
        ],
        lm,
      ),
    ).toBe(0);
    // both eyes 5 px lower: a quarter of the 20 px eye distance
    expect(
      eyeDisagreement(
        [
          [40, 55],
          [60, 55],
        ],
        lm,
      ),
    ).toBeCloseTo(0.25, 12);
  });
});
