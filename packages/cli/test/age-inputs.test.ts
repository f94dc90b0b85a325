import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRgbPng } from '@ragan/data';
import { runCli } from './run-cli.js';

// `ragan age`'s checks of its photo, made before any model is loaded: a model path that does not exist
// shows which check ran first.
const ragan = (a: string[]) => runCli(a, { backend: 'cpu' });
const NO_MODEL = '/nonexistent/ragan-model';

const tmp = mkdtempSync(join(tmpdir(), 'ragan-age-inputs-'));
const photo = join(tmp, 'photo.png');

beforeAll(async () => {
  // a flat grey 64×48 photo (no face: nothing here needs one)
  const original = await encodeRgbPng({ data: new Uint8Array(64 * 48 * 3).fill(128), width: 64, height: 48 });
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
