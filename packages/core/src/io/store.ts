import { CheckpointError, ModelLoadError, RaganError } from '../errors/index.js';
import { joinLocation, unsafePathReason } from './paths.js';

/**
 * Default cap on one read when the caller gives none (1 GiB). The loader always passes the exact
 * size it expects, so this only guards direct use of a store.
 */
export const DEFAULT_MAX_READ_BYTES = 1024 * 1024 * 1024;

export interface StoreReadOptions {
  /** Refuse (ModelLoadError) as soon as more than this many bytes would be read. Default 1 GiB. */
  maxBytes?: number;
}

/**
 * Where a model folder lives. Paths are relative, `/`-separated, and checked with the same rules
 * by every implementation (no absolute paths, `..`, backslashes or URLs).
 * `fsStore` (Node, `@ragan/core/node`), `httpStore` and `memoryStore` implement it.
 */
export interface ModelStore {
  /** Reads a whole file. Throws ModelLoadError when missing, unreadable or larger than `maxBytes`. */
  read(path: string, options?: StoreReadOptions): Promise<Uint8Array>;
  /** Replaces a file atomically where the medium allows. Absent on read-only stores. Throws CheckpointError. */
  write?(path: string, data: Uint8Array): Promise<void>;
  /** Where the store points, for messages: a folder path or a base URL. */
  describe(): string;
}

/** Throws ModelLoadError naming `location` when `path` is not a safe relative path. */
export function assertReadablePath(base: string, path: string): void {
  const reason = unsafePathReason(path);
  if (reason !== undefined) throw new ModelLoadError(joinLocation(base, String(path)), `path refused: ${reason}`);
}

/** Throws CheckpointError when `path` is not a safe relative path for writing. */
export function assertWritablePath(base: string, path: string): void {
  const reason = unsafePathReason(path);
  if (reason !== undefined) throw new CheckpointError(`path refused: ${reason}`, { path: joinLocation(base, String(path)) });
}

/** The error every store throws for a file over the read cap. */
export function tooLargeError(location: string, maxBytes: number, actual?: number): ModelLoadError {
  const got = actual === undefined ? 'more' : String(actual);
  return new ModelLoadError(location, `file is too large: ${got} bytes, at most ${maxBytes} allowed here (the manifest's declared size or the loader's limit)`);
}

function readCap(options?: StoreReadOptions): number {
  const max = options?.maxBytes ?? DEFAULT_MAX_READ_BYTES;
  if (!(Number.isInteger(max) && max >= 0)) throw new RaganError(`maxBytes must be a non-negative integer, got ${max}`);
  return max;
}

export interface MemoryStore extends ModelStore {
  write(path: string, data: Uint8Array): Promise<void>;
  /** The stored files, by path. Tests may edit them to simulate corruption. */
  readonly files: Map<string, Uint8Array>;
}

/** A store in a Map, for tests and for building a model folder in memory (e.g. before an upload). Copies on read and write. */
export function memoryStore(initial: Record<string, Uint8Array> = {}): MemoryStore {
  const files = new Map<string, Uint8Array>(Object.entries(initial).map(([k, v]) => [k, v.slice()]));
  const base = 'memory:';
  return {
    files,
    describe: () => base,
    async read(path, options) {
      assertReadablePath(base, path);
      const max = readCap(options);
      const data = files.get(path);
      if (!data) throw new ModelLoadError(joinLocation(base, path), 'file not found');
      if (data.byteLength > max) throw tooLargeError(joinLocation(base, path), max, data.byteLength);
      return data.slice();
    },
    async write(path, data) {
      assertWritablePath(base, path);
      files.set(path, data.slice());
    },
  };
}

export interface HttpStoreOptions {
  /** fetch implementation; default `globalThis.fetch`. Wrap it to add headers or credentials. */
  fetch?: typeof fetch;
}

/**
 * A read-only store over HTTP(S): `read('generator.bin')` fetches `${baseUrl}/generator.bin`.
 * The body is streamed and the request cancelled as soon as it exceeds the cap, so a hostile server
 * cannot make the browser buffer more than the manifest declared.
 */
export function httpStore(baseUrl: string, options: HttpStoreOptions = {}): ModelStore {
  const base = baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? globalThis.fetch;
  if (typeof doFetch !== 'function') throw new RaganError('httpStore: no fetch available; pass { fetch }');
  return {
    describe: () => base,
    async read(path, opts) {
      assertReadablePath(base, path);
      const max = readCap(opts);
      const url = `${base}/${path.split('/').map(encodeURIComponent).join('/')}`;
      let res: Response;
      try {
        res = await doFetch(url);
      } catch (e) {
        throw new ModelLoadError(url, `could not fetch: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
      if (!res.ok) {
        await res.body?.cancel().catch(() => undefined);
        const hint = res.status === 404 ? ' (file not found)' : '';
        throw new ModelLoadError(url, `HTTP ${res.status} ${res.statusText}${hint}`);
      }
      // Content-Length counts encoded bytes; only trust it as a size when the body is not compressed.
      const encoding = res.headers.get('content-encoding');
      const declared = res.headers.get('content-length');
      if (declared !== null && (encoding === null || encoding === 'identity') && Number(declared) > max) {
        await res.body?.cancel().catch(() => undefined);
        throw tooLargeError(url, max, Number(declared));
      }
      if (!res.body) {
        const data = new Uint8Array(await res.arrayBuffer());
        if (data.byteLength > max) throw tooLargeError(url, max, data.byteLength);
        return data;
      }
      const reader = res.body.getReader();
      const chunks: Uint8Array[] = [];
      let total = 0;
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          total += value.byteLength;
          if (total > max) {
            await reader.cancel().catch(() => undefined);
            throw tooLargeError(url, max);
          }
          chunks.push(value);
        }
      } catch (e) {
        if (RaganError.isInstance(e)) throw e;
        throw new ModelLoadError(url, `download failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
      if (chunks.length === 1) return chunks[0]!;
      const out = new Uint8Array(total);
      let off = 0;
      for (const c of chunks) {
        out.set(c, off);
        off += c.byteLength;
      }
      return out;
    },
  };
}
