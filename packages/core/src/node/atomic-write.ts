import { randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * The project's one atomic file write. Readers see the old content or the whole new one, also across a
 * crash or power loss: a temp file beside the target (unique name, created exclusively), every byte
 * written, fsync, rename over the target, fsync of the folder so that the rename itself is on disk. On
 * failure the temp file is removed and the target is left as it was. The folder must exist.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, opts: { mode?: number } = {}): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(tmp, 'wx', opts.mode ?? 0o644);
    let off = 0;
    while (off < bytes.byteLength) {
      const { bytesWritten } = await handle.write(bytes, off, bytes.byteLength - off);
      off += bytesWritten;
    }
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(tmp, path);
  } catch (e) {
    await handle?.close().catch(() => undefined);
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
  await syncDir(dir);
}

/** fsync a folder so that a rename in it survives power loss. Windows cannot open folders: skipped there. */
export async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await fs.open(dir, fsConstants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
