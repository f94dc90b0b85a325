/**
 * Train/test split by a stable hash of the file name, so everybody gets the same split whatever the
 * order or subset of files they have. FNV-1a 32-bit over the UTF-8 bytes of the base name.
 */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export type Split = 'train' | 'test';

/** `testFraction` of names (by hash) go to test; default 10 %. */
export function splitOf(file: string, testFraction = 0.1): Split {
  if (!(testFraction >= 0 && testFraction <= 1)) throw new RangeError(`testFraction must be in [0, 1], got ${testFraction}`);
  const base = file.split(/[\\/]/).pop() ?? file;
  return fnv1a32(base) / 4294967296 < testFraction ? 'test' : 'train';
}
