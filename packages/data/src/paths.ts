import { isAbsolute, relative, sep } from 'node:path';

/** Is `target` inside `root` (both absolute), or the root itself? Lexical: resolve symlinks first when they matter. */
export function isInside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** A path with `/` separators, for ids and reports that look the same on every OS. */
export const toPosix = (p: string): string => p.split(sep).join('/');
