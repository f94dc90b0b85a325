import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from './atomic-write.js';

const root = mkdtempSync(join(tmpdir(), 'ragan-atomic-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('writeFileAtomic (the one atomic write)', () => {
  it('writes and replaces whole files (bytes or text) and leaves no temp file', async () => {
    const dir = mkdtempSync(join(root, 'a-'));
    const f = join(dir, 'index.json');
    await writeFileAtomic(f, 'first');
    expect(readFileSync(f, 'utf8')).toBe('first');
    const big = new Uint8Array(3 << 20).map((_, i) => i % 251);
    await writeFileAtomic(f, big);
    expect(Buffer.compare(readFileSync(f), Buffer.from(big))).toBe(0);
    expect(readdirSync(dir)).toEqual(['index.json']);
  });

  it('on failure leaves the target as it was and removes its temp file', async () => {
    const dir = mkdtempSync(join(root, 'b-'));
    const target = join(dir, 'taken');
    mkdirSync(target); // a folder where the file should go: the rename fails
    writeFileSync(join(target, 'keep.txt'), 'mine');
    await expect(writeFileAtomic(target, 'x')).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['taken']);
    expect(readFileSync(join(target, 'keep.txt'), 'utf8')).toBe('mine');
    await expect(writeFileAtomic(join(dir, 'no-such-folder', 'f.json'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(readdirSync(dir)).toEqual(['taken']);
  });

  it('concurrent writers of one file: it ends as one of them, whole, and no temp file is left', async () => {
    const dir = mkdtempSync(join(root, 'c-'));
    const f = join(dir, 'board.json');
    const payloads = Array.from({ length: 12 }, (_, i) => `writer ${i} `.repeat(20_000));
    await Promise.all(payloads.map((p) => writeFileAtomic(f, p)));
    expect(payloads).toContain(readFileSync(f, 'utf8'));
    expect(readdirSync(dir)).toEqual(['board.json']);
  });
});
