import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UTKFACE_ALIGN, createRagan, exportGenerator, initBackend, type Point2 } from '@ragan/core';
import { fsStore } from '@ragan/core/node';
import { encodeRgbPng, readPhoto, type RgbImage } from '@ragan/data';
import type { AgeSummary } from '../src/commands/age.js';
import { runCli } from './run-cli.js';
import { bundledModelDir } from '../src/bundled-model.js';
import { writeRotatedSample6 } from '@ragan/test-utils/sample-faces';

const ragan = (a: string[]) => runCli(a, { backend: 'wasm' });

// sharp is @ragan/data's dependency; resolve it from there (test only).
interface SharpLike {
  resize(width: number): SharpLike;
  rotate(angle: number): SharpLike;
  withMetadata(m: { orientation: number }): SharpLike;
  jpeg(o: { quality: number }): SharpLike;
  toFile(path: string): Promise<unknown>;
  metadata(): Promise<{ width?: number; height?: number; format?: string; orientation?: number }>;
}
const sharp = createRequire(createRequire(import.meta.url).resolve('@ragan/data/package.json'))('sharp') as (input: string) => SharpLike;

const tmp = mkdtempSync(join(tmpdir(), 'ragan-age-'));
const model = join(tmp, 'model');
const photo = join(tmp, 'rotated.jpg');

beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
  // An untrained `tiny` (64 px) generator: random weights visibly change every face region.
  const m = createRagan('tiny', { seed: 1 });
  await exportGenerator(fsStore(model), m.emaGenerator);
  m.dispose();
  await writeRotatedSample6(photo);
}, 120_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Is pixel (x, y) outside every rectangle, grown by `margin` px? */
const outside = (rects: Array<{ x0: number; y0: number; x1: number; y1: number }>, x: number, y: number, margin: number) =>
  rects.every((r) => x < r.x0 - margin || x > r.x1 + margin || y < r.y0 - margin || y > r.y1 + margin);

describe('ragan age', () => {
  it("re-ages every face to 70-120 (= 70+), pastes back at the photo's own upright size, leaves the rest untouched, --json", async () => {
    const out = join(tmp, 'aged.png');
    const r = await ragan(['age', photo, '--model', model, '--to', '70-120', '--out', out, '--json']);
    expect(r.stderr).not.toMatch(/ragan: .*(error|cannot)/i);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as AgeSummary;
    expect(s.photo).toMatchObject({ width: 960, height: 769, orientation: 6 });
    expect(s.model).toMatchObject({ kind: 'model', resolution: 64, ageGroups: 'ffhq-aging-10', framing: 'ffhq-aging', bundled: false });
    expect(s.target).toEqual({ input: '70-120', kind: 'group', group: '70+', index: 9 });
    expect(s.faces.length).toBe(4);
    expect(s.output).toMatchObject({ path: out, width: 960, height: 769, format: 'png' });
    for (const k of ['load', 'read', 'detect', 'align', 'reage', 'paste', 'encode', 'total', 'reagePerFace'] as const)
      expect(s.timings[k]).toBeGreaterThanOrEqual(0);
    for (const f of s.faces) expect(f.cropSize % 64).toBe(0);
    console.log(`ragan age (960×769, 4 faces, tiny, wasm): ${JSON.stringify(s.timings)}`);

    const meta = await sharp(out).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([960, 769, 'png']);
    const before = (await readPhoto(photo)).image;
    const after = (await readPhoto(out)).image;
    // Only the crop squares can change (paste-back warps each crop into its quad): compare the rest exactly.
    const quads = s.faces.map((f) => ({
      x0: Math.min(...f.quad.map((p) => p[0])),
      y0: Math.min(...f.quad.map((p) => p[1])),
      x1: Math.max(...f.quad.map((p) => p[0])),
      y1: Math.max(...f.quad.map((p) => p[1])),
    }));
    let far = 0;
    let changedFar = 0;
    for (let y = 0; y < 769; y++) {
      for (let x = 0; x < 960; x++) {
        if (!outside(quads, x, y, 2)) continue;
        far++;
        const i = (y * 960 + x) * 3;
        if (after.data[i] !== before.data[i] || after.data[i + 1] !== before.data[i + 1] || after.data[i + 2] !== before.data[i + 2]) changedFar++;
      }
    }
    expect(far).toBeGreaterThan(960 * 769 * 0.3);
    expect(changedFar).toBe(0);
    // Inside each detector box (its middle half: eyes, nose, cheeks) the random model changed the face.
    for (const f of s.faces) {
      const { x, y, width, height } = f.box;
      let sum = 0;
      let n = 0;
      for (let py = Math.round(y + height / 4); py < y + (3 * height) / 4; py++) {
        for (let px = Math.round(x + width / 4); px < x + (3 * width) / 4; px++) {
          const i = (py * 960 + px) * 3;
          for (let c = 0; c < 3; c++) sum += Math.abs(after.data[i + c]! - before.data[i + c]!);
          n += 3;
        }
      }
      expect(sum / n).toBeGreaterThan(10);
    }
  }, 180_000);

  it("keeps the photo's detail by default, as `demo` does; --no-keep-detail pastes the upsampled output", async () => {
    const kept = join(tmp, 'kept.png');
    const plain = join(tmp, 'plain.png');
    const a = await ragan(['age', photo, '--model', model, '--to', '5', '--out', kept, '--json']);
    const b = await ragan(['age', photo, '--model', model, '--to', '5', '--out', plain, '--json', '--no-keep-detail']);
    expect([a.code, b.code]).toEqual([0, 0]);
    const sa = JSON.parse(a.stdout) as AgeSummary;
    const sb = JSON.parse(b.stdout) as AgeSummary;
    expect([sa.keepDetail, sb.keepDetail]).toEqual([true, false]);
    const before = (await readPhoto(photo)).image;
    const [ia, ib] = [(await readPhoto(kept)).image, (await readPhoto(plain)).image];
    // high-frequency energy (horizontal second differences) in each face box's middle: the photo's own detail
    // survives with keep-detail; the 64² output upsampled to the face's size has little of it
    const detail = (img: RgbImage, f: AgeSummary['faces'][number]) => {
      let e = 0;
      let n = 0;
      const { x, y, width, height } = f.box;
      for (let py = Math.round(y + height / 4); py < y + (3 * height) / 4; py++) {
        for (let px = Math.round(x + width / 4); px < x + (3 * width) / 4; px++) {
          const i = (py * img.width + px) * 3;
          e += Math.abs(img.data[i - 3]! - 2 * img.data[i]! + img.data[i + 3]!);
          n++;
        }
      }
      return e / n;
    };
    for (const f of sa.faces) {
      const [d0, dk, dp] = [detail(before, f), detail(ia, f), detail(ib, f)];
      expect(dk).toBeGreaterThan(dp);
      expect(dk).toBeGreaterThan(0.5 * d0);
    }
  }, 180_000);

  it('crops faces the way the model records (UTKFace framing: a tighter square, centred lower)', async () => {
    const utk = join(tmp, 'model-utk');
    const m = createRagan({ preset: 'tiny', alignment: UTKFACE_ALIGN }, { seed: 1 });
    await exportGenerator(fsStore(utk), m.emaGenerator);
    m.dispose();
    const run = async (dir: string) => {
      const r = await ragan(['age', photo, '--model', dir, '--to', '45', '--out', join(tmp, `framing-${basename(dir)}.png`), '--json']);
      expect(r.code).toBe(0);
      const summary = JSON.parse(r.stdout) as AgeSummary;
      expect(summary.model.framing).toBe(dir === utk ? 'utkface' : 'ffhq-aging');
      return summary.faces.sort((a, b) => a.box.x - b.box.x);
    };
    const ffhq = await run(model);
    const tight = await run(utk);
    expect(tight.length).toBe(ffhq.length);
    const side = (q: Point2[]) => Math.hypot(q[3]![0] - q[0]![0], q[3]![1] - q[0]![1]);
    const centreY = (q: Point2[]) => (q[0]![1] + q[1]![1] + q[2]![1] + q[3]![1]) / 4;
    for (let i = 0; i < ffhq.length; i++) {
      const ratio = side(tight[i]!.quad) / side(ffhq[i]!.quad);
      // 1.296 / 2.0 when the eye distance sets the size, 1.245 / 2.2 when the eye-to-mouth distance does
      expect(ratio).toBeGreaterThan(0.5);
      expect(ratio).toBeLessThan(0.7);
      expect(centreY(tight[i]!.quad)).toBeGreaterThan(centreY(ffhq[i]!.quad));
    }
  }, 300_000);

  it('--grid writes a row per face and a column per age group after the input, labelled', async () => {
    const out = join(tmp, 'grid.png');
    const r = await ragan(['age', photo, '--model', model, '--grid', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/grid\.png: 1760x668, 4 faces re-aged to all 10 age groups/);
    const meta = await sharp(out).metadata();
    // (10 groups + the input) × 160 px cells; a 28 px header row of labels, then 4 rows of faces
    expect([meta.width, meta.height]).toEqual([11 * 160, 28 + 4 * 160]);
  }, 180_000);

  it('fails with one clear line and a non-zero exit when there is no face', async () => {
    const grey = join(tmp, 'grey.png');
    const img: RgbImage = { data: new Uint8Array(320 * 240 * 3).fill(128), width: 320, height: 240 };
    writeFileSync(grey, await encodeRgbPng(img));
    const out = join(tmp, 'none.png');
    const r = await ragan(['age', grey, '--model', model, '--to', '70+', '--out', out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/grey\.png: no face found/);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
    expect(existsSync(out)).toBe(false);
  }, 180_000);

  it('without --model, uses the bundled model (and records its framing); without one, explains how to make one', async () => {
    const out = join(tmp, 'bundled.png');
    const r = await ragan(['age', photo, '--to', '70+', '--out', out, '--json']);
    const bundled = bundledModelDir();
    if (bundled) {
      expect(r.code).toBe(0);
      const s = JSON.parse(r.stdout) as AgeSummary;
      expect(s.model).toMatchObject({ path: bundled, bundled: true, framing: 'utkface' });
      expect(r.stderr).toMatch(/using the bundled utkface-tiny model \(trained on UTKFace: non-commercial research use only/);
      expect(s.faces.length).toBe(4);
      expect(existsSync(out)).toBe(true);
    } else {
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/--model: a model is required: this installation has no bundled model/);
      for (const cmd of ['ragan prepare', 'ragan train', 'ragan export']) expect(r.stderr).toContain(cmd);
    }
  }, 120_000);

  it('names the bad target and lists the groups', async () => {
    const r = await ragan(['age', photo, '--model', model, '--to', '25-35', '--out', join(tmp, 'x.png')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--to: "25-35" does not fall inside one age group; give an age in years \(e\.g\. 45\) or a group of ffhq-aging-10: 0-2, .*70\+/);
  }, 60_000);
});
