import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';
import { pngHeader } from './png-header.js';
import { runCli } from './run-cli.js';

// Photos up to the pixel limit work (faces are detected on a copy scaled to 4096², see
// packages/data/src/faces/faces.test.ts); beyond it they are refused from the header, in one line. A
// 110-megapixel photo is not made here (1.3 GB of memory even when it works).
const ragan = (a: string[]) => runCli(a, { backend: 'cpu' });
const tmp = mkdtempSync(join(tmpdir(), 'ragan-large-photo-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('photos over the pixel limit', () => {
  it('age and align refuse a 20000×20000 photo in one line naming the limit, before loading anything', async () => {
    const big = join(tmp, 'panorama.png');
    writeFileSync(big, pngHeader(20000, 20000));
    for (const args of [
      ['age', big, '--model', '/nonexistent/model', '--to', '70+', '--out', join(tmp, 'out.png')],
      ['align', big, '--out', join(tmp, 'aligned')],
    ]) {
      const r = await ragan(args);
      expect(r.code, args[0]).toBe(1);
      expect(r.stderr.trim()).toBe(`ragan: ${big}: is 20000×20000 = 400 megapixels, over the 268 megapixels limit for photos; scale it down first`);
    }
  }, 120_000);
});
