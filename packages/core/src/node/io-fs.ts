import { constants as fsConstants, promises as fs } from 'node:fs';
import * as nodePath from 'node:path';
import { CheckpointError, ModelLoadError, RaganError } from '../errors/index.js';
import { writeFileAtomic } from './atomic-write.js';
import { DEFAULT_MAX_READ_BYTES, assertReadablePath, assertWritablePath, tooLargeError, type ModelStore, type StoreReadOptions } from '../io/store.js';

export interface FsStore extends ModelStore {
  write(path: string, data: Uint8Array): Promise<void>;
  /** Absolute folder this store reads and writes. */
  readonly dir: string;
}

function isInside(root: string, target: string): boolean {
  const rel = nodePath.relative(root, target);
  return rel === '' || (!rel.startsWith('..') && !nodePath.isAbsolute(rel));
}

function errno(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

/**
 * A ModelStore over a folder on disk (Node only).
 *
 * - Paths are relative and `/`-separated; absolute paths, `..`, backslashes, URLs are refused, and
 *   after resolving, the real path (symlinks followed) must stay inside the folder's real path.
 * - Writes are atomic: a temp file in the same folder, fsync, rename over the target, fsync the folder;
 *   a crash leaves either the old or the new file, never a torn one. Missing folders are created.
 * - Reads cap the size (`maxBytes`) from fstat before reading.
 *
 * The symlink check and the open are two steps, so a concurrent local attacker who can swap links in
 * the folder is out of scope; the threat is a hostile manifest, which can only name paths.
 */
export function fsStore(dir: string): FsStore {
  const root = nodePath.resolve(dir);
  let realRoot: string | undefined;

  async function rootReal(create: boolean): Promise<string> {
    if (realRoot) return realRoot;
    if (create) await fs.mkdir(root, { recursive: true });
    realRoot = await fs.realpath(root);
    return realRoot;
  }

  /** Resolves `path` and checks it stays inside the folder; `refuse` builds the error to throw. */
  async function resolveInside(path: string, create: boolean, refuse: (msg: string) => Error): Promise<string> {
    const full = nodePath.resolve(root, ...path.split('/'));
    if (!isInside(root, full) || full === root) throw refuse('path refused: it resolves outside the model folder');
    const realBase = await rootReal(create);
    // Real path of the file if it exists, else of its nearest existing ancestor (the parent for writes).
    let probe = full;
    for (;;) {
      try {
        const real = await fs.realpath(probe);
        if (!isInside(realBase, real)) throw refuse(`path refused: "${path}" goes through a symlink to ${real}, outside the model folder ${realBase}`);
        break;
      } catch (e) {
        if (RaganError.isInstance(e)) throw e;
        if (errno(e) !== 'ENOENT' || probe === root) throw e;
        probe = nodePath.dirname(probe);
      }
    }
    return full;
  }

  async function read(path: string, options?: StoreReadOptions): Promise<Uint8Array> {
    assertReadablePath(root, path);
    const max = options?.maxBytes ?? DEFAULT_MAX_READ_BYTES;
    const location = nodePath.join(root, ...path.split('/'));
    let full: string;
    try {
      full = await resolveInside(path, false, (msg) => new ModelLoadError(location, msg));
    } catch (e) {
      if (RaganError.isInstance(e)) throw e;
      if (errno(e) === 'ENOENT') throw new ModelLoadError(location, 'file not found (is this a model folder?)', { cause: e });
      throw new ModelLoadError(location, `could not read: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    let handle: fs.FileHandle | undefined;
    try {
      handle = await fs.open(full, fsConstants.O_RDONLY);
      const stat = await handle.stat();
      if (!stat.isFile()) throw new ModelLoadError(location, 'is not a regular file');
      if (stat.size > max) throw tooLargeError(location, max, stat.size);
      const out = new Uint8Array(stat.size);
      let off = 0;
      while (off < out.byteLength) {
        const { bytesRead } = await handle.read(out, off, out.byteLength - off, off);
        if (bytesRead === 0) break;
        off += bytesRead;
      }
      // A file that shrank while reading is returned short; the loader's size check catches it.
      return off === out.byteLength ? out : out.subarray(0, off);
    } catch (e) {
      if (RaganError.isInstance(e)) throw e;
      if (errno(e) === 'ENOENT') throw new ModelLoadError(location, 'file not found (is this a model folder?)', { cause: e });
      throw new ModelLoadError(location, `could not read: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    } finally {
      await handle?.close();
    }
  }

  async function write(path: string, data: Uint8Array): Promise<void> {
    assertWritablePath(root, path);
    const location = nodePath.join(root, ...path.split('/'));
    const refuse = (msg: string) => new CheckpointError(msg, { path: location });
    try {
      await rootReal(true);
      const full = await resolveInside(path, true, refuse);
      const parent = nodePath.dirname(full);
      await fs.mkdir(parent, { recursive: true });
      // mkdir may have created folders; check again that the parent really is inside.
      await resolveInside(path, true, refuse);
      await writeFileAtomic(full, data);
    } catch (e) {
      if (RaganError.isInstance(e)) throw e;
      throw new CheckpointError(`could not write: ${e instanceof Error ? e.message : String(e)}`, { path: location, cause: e });
    }
  }

  return { dir: root, describe: () => root, read, write };
}
