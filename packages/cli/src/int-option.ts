import { InvalidArgumentError } from 'commander';

/** A commander parser for a whole-number flag in [min, max]; a bad value says which flag and the range. */
export const intOption =
  (name: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}, got "${v}"`);
    return n;
  };
