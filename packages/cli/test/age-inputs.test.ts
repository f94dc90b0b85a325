import { copyFileSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRgbPng, faceApiPackageDir } from '@ragan/data';
import { runCli } from './run-cli.js';

// `ragan age`'s checks of its photo and --out, made before any model is loaded: a model path that does
// not exist shows which check ran first.
const ragan = (a: string[]) => runCli(a, { backend: 'cpu' });
const NO_MODEL = '/nonexistent/ragan-model';

const tmp = mkdtempSync(join(tmpdir(), 'ragan-age-inputs-'));
const photo = join(tmp, 'photo.png');
let original: Buffer;

beforeAll(async () => {
  // a flat grey 64×48 photo (no face: nothing here needs one)
  original = await encodeRgbPng({ data: new Uint8Array(64 * 48 * 3).fill(128), width: 64, height: 48 });
  writeFileSync(photo, original);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** One line on stderr, `ragan: ` first, no stack trace. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^ragan: /);
  return lines[0]!;
}

describe('ragan age: the photo is checked first', () => {
  it('a missing file, a folder and a file that is not an image are named as such, before the model is loaded', async () => {
    const missing = await ragan(['age', join(tmp, 'nope.jpg'), '--model', NO_MODEL, '--to', '70+', '--out', join(tmp, 'a.png')]);
    expect(missing.code).toBe(1);
    expect(oneLine(missing.stderr)).toBe(`ragan: ${join(tmp, 'nope.jpg')}: does not exist`);

    const folder = join(tmp, 'holiday.jpg');
    mkdirSync(folder);
    const dir = await ragan(['age', folder, '--model', NO_MODEL, '--to', '70+', '--out', join(tmp, 'a.png')]);
    expect(dir.code).toBe(1);
    expect(oneLine(dir.stderr)).toBe(`ragan: ${folder}: is a folder, not an image file`);

    const text = join(tmp, 'notes.jpg');
    writeFileSync(text, 'shopping list\n');
    const notImage = await ragan(['age', text, '--model', NO_MODEL, '--to', '70+', '--out', join(tmp, 'a.png')]);
    expect(notImage.code).toBe(1);
    expect(oneLine(notImage.stderr)).toMatch(/notes\.jpg: is not an image/);

    const dangling = join(tmp, 'link.jpg');
    symlinkSync(join(tmp, 'gone.jpg'), dangling);
    const link = await ragan(['age', dangling, '--model', NO_MODEL, '--to', '70+', '--out', join(tmp, 'a.png')]);
    expect(oneLine(link.stderr)).toMatch(/link\.jpg: is a dangling symlink/);
  }, 120_000);
});

describe('ragan age: --out must not be the photo', () => {
  it('refuses --out naming the photo, directly or through another path, and leaves it untouched', async () => {
    // a photo with faces and the bundled model: without the check, the original would be replaced
    const faces = join(tmp, 'family.jpg');
    copyFileSync(join(faceApiPackageDir(), 'demo', 'sample1.jpg'), faces);
    const before = readFileSync(faces);
    mkdirSync(join(tmp, 'sub'));
    symlinkSync(faces, join(tmp, 'alias.jpg'));
    for (const out of [faces, join(tmp, 'sub', '..', 'family.jpg'), join(tmp, 'alias.jpg')]) {
      const r = await ragan(['age', faces, '--model', 'bundled', '--to', '70+', '--out', out]);
      expect(r.code, out).toBe(1);
      expect(oneLine(r.stderr)).toMatch(
        /^ragan: --out: .* is the photo itself \(.*family\.jpg\): it would be overwritten; choose another --out, or add --force to replace it$/,
      );
      expect(readFileSync(faces).equals(before), out).toBe(true);
    }
    // a flat photo, through a hard link
    linkSync(photo, join(tmp, 'hard.png'));
    const hard = await ragan(['age', photo, '--model', NO_MODEL, '--to', '70+', '--out', join(tmp, 'hard.png')]);
    expect(oneLine(hard.stderr)).toMatch(/is the photo itself/);
    expect(readFileSync(photo).equals(original)).toBe(true);
  }, 120_000);

  it('--force lets it through to the next step (here: the missing model)', async () => {
    const r = await ragan(['age', photo, '--model', NO_MODEL, '--to', '70+', '--out', photo, '--force']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ragan: \/nonexistent\/ragan-model: no such folder/m);
    expect(r.stderr).not.toMatch(/photo itself/);
  }, 120_000);
});
