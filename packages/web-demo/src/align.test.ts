import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const dataSrc = join(here, '..', '..', 'data', 'src');

describe('align.ts (copied from @ragan/data)', () => {
  // align.ts is a verbatim copy of pure functions of @ragan/data; this fails when one side changes alone.
  it.each(['align/affine.ts', 'align/ffhq.ts', 'faces/raster.ts', 'faces/landmark-mask.ts', 'align/warp.ts'])('holds %s unchanged', (file) => {
    const original = readFileSync(join(dataSrc, file), 'utf8')
      .split('\n')
      .filter((l) => !l.startsWith('import '))
      .join('\n')
      .trim();
    const copy = readFileSync(join(here, 'align.ts'), 'utf8');
    expect(copy.includes(original), `src/align.ts no longer holds @ragan/data's ${file}: copy it again`).toBe(true);
  });
});
