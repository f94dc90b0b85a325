import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';
import { encodeRgbPng, parseFacesJson } from '@ragan/data';
import { runCli } from './run-cli.js';
import { writeRotatedSample6 } from '@ragan/test-utils/sample-faces';

const ragan = (a: string[]) => runCli(a, { backend: 'wasm' });

// sharp is @ragan/data's dependency, not the cli's: resolve it from there (test only).
interface SharpLike {
  resize(width: number): SharpLike;
  rotate(angle: number): SharpLike;
  withMetadata(m: { orientation: number }): SharpLike;
  jpeg(o: { quality: number }): SharpLike;
  toFile(path: string): Promise<unknown>;
  metadata(): Promise<{ width?: number; height?: number; format?: string }>;
}
const sharp = createRequire(createRequire(import.meta.url).resolve('@ragan/data/package.json'))('sharp') as (input: string) => SharpLike;

const tmp = mkdtempSync(join(tmpdir(), 'ragan-align-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('ragan align', () => {
  it('explains itself in --help', async () => {
    const r = await ragan(['align', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--out <dir>/);
    expect(r.stdout).toMatch(/--size <px>/);
    expect(r.stdout).toMatch(/faces\.json/);
    expect(r.stdout).toMatch(/EXIF\s+orientation/);
  }, 60_000);

  it('writes one aligned crop per face and faces.json, honouring EXIF orientation', async () => {
    const photo = join(tmp, 'rotated.jpg');
    await writeRotatedSample6(photo);
    const out = join(tmp, 'aligned');
    const r = await ragan(['align', photo, '--out', out, '--size', '128']);
    expect(r.stderr).not.toMatch(/ragan: .*error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/4 faces/);
    expect(readdirSync(out).sort()).toEqual(['face-0.png', 'face-1.png', 'face-2.png', 'face-3.png', 'faces.json']);
    const json = parseFacesJson(readFileSync(join(out, 'faces.json'), 'utf8'), 'faces.json');
    expect(json.photo).toMatchObject({ width: 960, height: 769, orientation: 6, storedWidth: 769, storedHeight: 960 });
    expect(json.size).toBe(128);
    expect(json.faces.length).toBe(4);
    for (const f of json.faces) {
      expect(f.landmarks.length).toBe(68);
      expect(Math.abs(f.angleDegrees)).toBeLessThan(30); // upright after the EXIF rotation
      // inverse maps the crop landmarks back onto the photo landmarks
      const [a, b, c, d, e, g] = f.inverse;
      f.cropLandmarks.forEach(([x, y], i) => {
        expect(Math.abs(a * x + b * y + c - f.landmarks[i]![0])).toBeLessThan(0.05);
        expect(Math.abs(d * x + e * y + g - f.landmarks[i]![1])).toBeLessThan(0.05);
      });
      const meta = await sharp(join(out, f.file)).metadata();
      expect([meta.width, meta.height, meta.format]).toEqual([128, 128, 'png']);
    }
  }, 180_000);

  it('fails with a clear message and a non-zero exit when there is no face', async () => {
    const grey = join(tmp, 'grey.png');
    writeFileSync(grey, await encodeRgbPng({ data: new Uint8Array(320 * 240 * 3).fill(128), width: 320, height: 240 }));
    const out = join(tmp, 'none');
    const r = await ragan(['align', grey, '--out', out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/grey\.png: no face found/);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/); // one line, no stack trace
    expect(() => readdirSync(out)).toThrow(); // nothing written
  }, 180_000);

  it('names the file when the photo cannot be read', async () => {
    const r = await ragan(['align', join(tmp, 'missing.jpg'), '--out', join(tmp, 'x')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toMatch(/^ragan: .*missing\.jpg: does not exist$/); // checked before the backend starts
  }, 180_000);
});
