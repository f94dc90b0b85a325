/**
 * Path rules shared by every ModelStore and by manifest validation. A model folder is untrusted input
 * (it may come from a URL or another person), so a path in it must never reach outside the folder,
 * whatever the store behind it (file system, HTTP, memory).
 */

/** One path segment: starts with a letter, digit or `_`, then letters, digits, `_ . -`; at most 128 chars. */
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** A weight file name in a manifest: one segment ending in `.bin`. */
const WEIGHT_FILE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,123}\.bin$/;

/** A module name as a manifest key: letters, digits, `_ -`, starting with a letter or digit. */
export const MODULE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/**
 * Why `path` is not an acceptable relative path inside a model folder, or undefined when it is.
 * Accepts `a.bin` and `sub/a.bin`; refuses absolute paths, drive letters, backslashes, URLs, `.`/`..`
 * segments, empty segments and anything outside the safe character set.
 */
export function unsafePathReason(path: unknown): string | undefined {
  if (typeof path !== 'string') return `must be a string, got ${typeof path}`;
  if (path.length === 0) return 'is empty';
  if (path.length > 512) return 'is longer than 512 characters';
  if (path.includes('\\')) return 'contains a backslash; use "/" and plain file names';
  if (path.includes('\0')) return 'contains a NUL character';
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(path) || path.startsWith('//')) return 'looks like a URL or a drive path; use a file name relative to the model folder';
  if (path.startsWith('/')) return 'is an absolute path; use a file name relative to the model folder';
  const segments = path.split('/');
  if (segments.some((s) => s === '..')) return 'leaves the model folder ("..")';
  if (segments.some((s) => s === '.' || s === '')) return 'has an empty or "." segment';
  const bad = segments.find((s) => !SEGMENT.test(s));
  if (bad !== undefined) return `segment "${bad}" must match ${SEGMENT.source}`;
  return undefined;
}

/** Why `path` is not an acceptable weight file name in a manifest (stricter: one segment, `.bin`). */
export function unsafeWeightFileReason(path: unknown): string | undefined {
  const reason = unsafePathReason(path);
  if (reason !== undefined) return reason;
  if (!WEIGHT_FILE.test(path as string)) return `must be a plain file name matching ${WEIGHT_FILE.source} (no folders)`;
  return undefined;
}

/** Joins a store description and a path for error messages: `https://x/models/tiny/generator.bin`. */
export function joinLocation(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path}`;
}
