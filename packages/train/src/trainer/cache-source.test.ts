import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareCache } from '@ragan/data';
import { pickSampleChips, sampleFaceChips } from '@ragan/test-utils/sample-faces';
import { cacheBatchSource } from './cache-source.js';

const dir = mkdtempSync(join(tmpdir(), 'ragan-cache-source-'));
const cache = join(dir, 'cache');

beforeAll(async () => {
  await tf.setBackend('cpu');
  const data = join(dir, 'utk');
  mkdirSync(data);
  const src = await sampleFaceChips();
  for (const f of await pickSampleChips(30)) copyFileSync(join(src, f), join(data, f));
  await prepareCache({ data, format: 'utkface', size: 8, out: cache, shardRecords: 8, preview: false });
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The groups of the next `n` batches (tensors disposed). */
async function groupsOf(source: Awaited<ReturnType<typeof cacheBatchSource>>, n: number): Promise<number[][]> {
  const out: number[][] = [];
  for (let i = 0; i < n; i++) {
    const b = await source.next();
    tf.dispose([b.images, b.masks]);
    out.push(b.groups);
  }
  return out;
}

describe('cacheBatchSource', () => {
  it('balanceGroups may change on resume: the saved cursor starts a new, reproducible stream, and says so', async () => {
    const plain = await cacheBatchSource(cache, { batch: 4, seed: 2, verify: false });
    await groupsOf(plain, 3);
    const saved = plain.getCursor();
    await plain.close?.();

    const lines: string[] = [];
    const resumeBalanced = async () => {
      const s = await cacheBatchSource(cache, { batch: 4, seed: 2, verify: false, balanceGroups: true, log: (l) => lines.push(l) });
      await s.setCursor(saved);
      const g = await groupsOf(s, 6);
      const c = s.getCursor();
      await s.close?.();
      return { g, c };
    };
    const a = await resumeBalanced();
    const b = await resumeBalanced();
    expect(a.g).toEqual(b.g); // the new order is fixed by the checkpoint
    expect(lines[0]).toMatch(/until now; from here it is drawn balanced by age group/);
    // the cursor the balanced stream hands out is its own: a later resume continues it exactly
    const again = await cacheBatchSource(cache, { batch: 4, seed: 2, verify: false, balanceGroups: true, log: (l) => lines.push(l) });
    await again.setCursor(a.c);
    expect(lines).toHaveLength(2);
    await again.close?.();

    // a cursor of another stream (here: another seed) is still refused
    const other = await cacheBatchSource(cache, { batch: 4, seed: 3, verify: false, balanceGroups: true });
    await expect(other.setCursor(saved)).rejects.toThrow(/another stream/);
    await other.close?.();
    expect(tf.memory().numTensors).toBe(0);
  }, 120_000);
});
