import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRagan, exportGenerator, initBackend, UTKFACE_ALIGN } from '@ragan/core';
import { fsStore } from '@ragan/core/node';
import { faceApiPackageDir } from '@ragan/data';
import { bundledModelDir } from '../src/bundled-model.js';
import type { DemoSummary } from '../src/commands/demo.js';
import { runCli } from './run-cli.js';

// wasm: face-api's SSD on the 1920×1280 sample takes ~90 s on the cpu backend, ~2 s on wasm
const ragan = (a: string[]) => runCli(a, { backend: 'wasm' });
const tmp = mkdtempSync(join(tmpdir(), 'ragan-demo-'));
const model = join(tmp, 'model');

beforeAll(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
  const m = createRagan({ preset: 'tiny', alignment: UTKFACE_ALIGN }, { seed: 7 });
  await exportGenerator(fsStore(model), m.emaGenerator);
  m.dispose();
}, 60_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('ragan demo (what `pnpm start` runs)', () => {
  it('ages every face of the shipped sample photo: the re-aged photo at its own size and an all-ages grid', async () => {
    const out = join(tmp, 'out');
    const r = await ragan(['demo', '--model', model, '--out', out, '--json']);
    expect(r.stderr).not.toMatch(/ragan: .*(error|cannot)/i);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as DemoSummary;
    expect(s.photo).toBe(join(faceApiPackageDir(), 'demo', 'sample1.jpg'));
    expect(s.faces).toBe(3);
    expect(s.target).toBe('age 75');
    expect(s.keepDetail).toBe(true);
    expect(s.aged).toBe(join(out, 'sample1-age-75.jpg'));
    expect(s.grid).toBe(join(out, 'sample1-all-ages.png'));
    const aged = await sharp(s.aged).metadata();
    expect([aged.format, aged.width, aged.height]).toEqual(['jpeg', 1920, 1280]);
    const grid = await sharp(s.grid).metadata();
    // a header row, then a row per face; the input column then one per age group (10)
    expect(grid.width! % 11).toBe(0);
    const cell = grid.width! / 11;
    expect(grid.height! - 3 * cell).toBeGreaterThan(0);
    expect(grid.height! - 3 * cell).toBeLessThan(cell);
  }, 180_000);

  it('prints where the images are, in words, without --json', async () => {
    const out = join(tmp, 'words');
    const r = await ragan(['demo', '--model', model, '--out', out, '--to', '5', '--no-keep-detail']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/aged 3 faces of .*sample1\.jpg to age 5/);
    expect(r.stdout).toContain(join(out, 'sample1-age-5.jpg'));
    expect(r.stdout).toContain(join(out, 'sample1-all-ages.png'));
    expect(existsSync(join(out, 'sample1-age-5.jpg'))).toBe(true);
  }, 180_000);

  it('names a bad target and a missing photo in one line each', async () => {
    const bad = await ragan(['demo', '--model', model, '--out', join(tmp, 'bad'), '--to', 'old']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--to/);
    const missing = await ragan(['demo', '--model', model, '--out', join(tmp, 'bad'), '--photo', join(tmp, 'nope.jpg')]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/nope\.jpg/);
    expect(missing.stderr).not.toMatch(/at .*\.ts:\d+/);
  }, 120_000);

  it('a photo without a face: says what was tried and what to try, as ragan age does; --to 80+ is said to be 70+', async () => {
    const grey = join(tmp, 'grey.jpg');
    await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 128, g: 128, b: 128 } } })
      .jpeg()
      .toFile(grey);
    const r = await ragan(['demo', '--model', model, '--out', join(tmp, 'none'), '--photo', grey, '--to', '80+']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ragan: --to 80\+ is the age group 70\+ \(this model's groups: 0-2, .*, 70\+\)$/m);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(
      new RegExp(
        String.raw`^ragan: .*grey\.jpg: no face found \(auto detector, min confidence 0\.5\); try --min-confidence 0\.3, --detector blazeface, or a photo ` +
          String.raw`where faces are at least ~40 px across; or another photo with --photo$`,
        '',
      ),
    );
    expect(existsSync(join(tmp, 'none'))).toBe(false);
  }, 120_000);

  it('uses the bundled model by default, says so, and points at its model card', async () => {
    const r = await ragan(['demo', '--out', join(tmp, 'bundled'), '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as DemoSummary;
    expect(r.stderr).toMatch(/using the bundled utkface-tiny model \(trained on UTKFace: non-commercial research use only/);
    expect(s.model).toBe(bundledModelDir());
    expect(s.licence).toMatch(/non-commercial research use only/);
    expect(s.modelCard).toBe(join(bundledModelDir()!, 'MODEL_CARD.md'));
    expect(existsSync(s.modelCard!)).toBe(true);
  }, 180_000);
});
