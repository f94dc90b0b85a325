import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pngHeader } from './png-header.js';
import { runCli } from './run-cli.js';
import { pickSampleChips, sampleFaceChips } from '@ragan/test-utils/sample-faces';

const ragan = (a: string[]) => runCli(a);

const tmp = mkdtempSync(join(tmpdir(), 'ragan-cli-prepare-'));
const data = join(tmp, 'faces');
const BROKEN = {
  '30_0_0_20990101000000001.jpg.chip.jpg': 'empty',
  '30_0_0_20990101000000002.jpg.chip.jpg': 'corrupt',
  '30_0_0_20990101000000003.jpg.chip.jpg': 'not-an-image',
  '30_0_0_20990101000000004.jpg.chip.jpg': 'not-an-image',
  'thirty_0_0_20990101000000005.jpg.chip.jpg': 'bad-name',
  '30_0_0_20990101000000006.jpg.chip.jpg': 'too-large',
};

beforeAll(async () => {
  // 50 real faces named like UTKFace files (face-api's sample photos cut into chips) and the 6 broken ones
  const src = await sampleFaceChips();
  const good = await pickSampleChips(50);
  mkdirSync(data);
  for (const f of good) copyFileSync(join(src, f), join(data, f));
  const jpeg = readFileSync(join(src, good[0]!));
  const names = Object.keys(BROKEN);
  writeFileSync(join(data, names[0]!), Buffer.alloc(0));
  writeFileSync(join(data, names[1]!), jpeg.subarray(0, jpeg.length >> 1));
  writeFileSync(join(data, names[2]!), 'not an image\n');
  writeFileSync(join(data, names[3]!), Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 2654435761) >>> 24)));
  copyFileSync(join(src, good[1]!), join(data, names[4]!));
  writeFileSync(join(data, names[5]!), pngHeader(60000, 60000) /* a decompression bomb's header */);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('ragan prepare', () => {
  it('50 good files and 6 broken ones: exits 0, 50 kept and 6 skipped each with its reason, index and preview written', async () => {
    const out = join(tmp, 'cache');
    const r = await ragan(['prepare', '--data', data, '--format', 'utkface', '--size', '32', '--limit', '300', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^kept 50, skipped 6 \(bad-name 1, empty 1, corrupt 1, not-an-image 2, too-large 1\)/m);
    expect(r.stdout).toMatch(/preview: .*preview\.png/);
    expect(r.stderr).toMatch(/prepare 55\/55 100%/); // the progress bar over the 55 well-named files (plain lines off a terminal)
    expect(r.stderr).not.toMatch(/\bat .*\(.*:\d+:\d+\)/); // no stack trace
    const skipped = JSON.parse(readFileSync(join(out, 'skipped.json'), 'utf8')) as {
      count: number;
      skipped: Array<{ file: string; kind: string; reason: string }>;
    };
    expect(skipped.count).toBe(6);
    expect(Object.fromEntries(skipped.skipped.map((s) => [s.file, s.kind]))).toEqual(BROKEN);
    const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as {
      complete: boolean;
      samples: unknown[];
      counts: { byMask: Record<string, number> };
    };
    expect(index.complete).toBe(true);
    // masks come from face-api's 68 landmarks; a face it cannot find falls back to the prior (counted)
    expect(index.counts.byMask.landmarks).toBeGreaterThanOrEqual(45);
    expect((index.counts.byMask.landmarks ?? 0) + (index.counts.byMask.prior ?? 0)).toBe(50);
    expect(index.samples).toHaveLength(50);
    expect(readFileSync(join(out, 'preview.png')).subarray(1, 4).toString()).toBe('PNG');

    // the same command again: nothing to do; other arguments: refused in one line, non-zero exit
    const again = await ragan(['prepare', '--data', data, '--format', 'utkface', '--size', '32', '--limit', '300', '--out', out]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already holds this cache \(same arguments\); nothing to do\.\nkept 50, skipped 6/);
    const other = await ragan(['prepare', '--data', data, '--format', 'utkface', '--size', '64', '--out', out]);
    expect(other.code).toBe(1);
    expect(other.stderr.trim()).toMatch(
      new RegExp(
        String.raw`^ragan: .*cache: holds a finished cache made with different arguments \(--size was 32, now 64; --limit was 300, now none\); ` +
          String.raw`.*--overwrite to start again$`,
        '',
      ),
    );
    expect(other.stderr.trim().split('\n')).toHaveLength(1);
  }, 180_000);

  it('--help explains the options with examples; bad values are usage errors', async () => {
    const help = await ragan(['prepare', '--help']);
    expect(help.code).toBe(0);
    for (const flag of ['--data', '--format', '--size', '--limit', '--groups', '--masks', '--out', '--overwrite']) expect(help.stdout).toContain(flag);
    expect(help.stdout).toMatch(/Examples:\n\s+# 300 UTKFace crops/);
    expect(help.stdout).toMatch(/choices: "utkface", "ffhq-aging", "csv"/);
    const bad = await ragan(['prepare', '--data', data, '--format', 'utkface', '--size', 'big', '--out', join(tmp, 'x')]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--size must be an integer from 8 to 1024, got "big"/);
    expect(existsSync(join(tmp, 'x'))).toBe(false);
  }, 180_000);
});
